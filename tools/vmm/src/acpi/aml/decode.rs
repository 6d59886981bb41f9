// SPDX-License-Identifier: GPL-2.0
//! A decoder for the namespace-level objects this module emits, so that
//! tests can check a table's structure: every package length, name and
//! operand must decode exactly. (The rust-osdev AML interpreters need a
//! nightly compiler; the guest's ACPICA is the real interpreter, in the
//! boot scenarios.)

/// A decoded namespace object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Object {
    Integer(u64),
    String(String),
    Buffer(usize),
    Device,
    Scope,
    /// Element count.
    Package(usize),
    /// Argument count, serialized.
    Method(u8, bool),
    /// Space, offset, length.
    Region(u8, u64, u64),
    FieldUnit,
}

/// Where and why a table does not decode.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("unexpected end")]
    UnexpectedEnd,
    #[error("package at {0} ends past the table")]
    PackagePastEnd(usize),
    #[error("bad name segment {0:?}")]
    BadNameSegment(Vec<u8>),
    #[error("^ above the root")]
    AboveRoot,
    #[error("expected an integer, found opcode {0:#x}")]
    NotAnInteger(u8),
    #[error("unterminated string")]
    UnterminatedString,
    #[error("buffer size disagrees with its package")]
    BufferSize,
    #[error("package elements disagree with its count")]
    PackageCount,
    #[error("field list overruns its package")]
    FieldListOverrun,
    #[error("term list overruns its package ({pos} > {end})")]
    TermListOverrun { pos: usize, end: usize },
    #[error("term list overruns its package at {0}")]
    BodyOverrun(usize),
    #[error("unexpected extended opcode {0:#x}")]
    ExtendedOpcode(u8),
    #[error("unexpected extended opcode {0:#x} at {1}")]
    ExtendedOpcodeAt(u8, usize),
    #[error("unexpected opcode {0:#x} at {1}")]
    Opcode(u8, usize),
    #[error("unexpected opcode {0:#x} at {1} (where a value is needed)")]
    OpcodeForValue(u8, usize),
    #[error("expected a target, found {0:#x} at {1}")]
    NotATarget(u8, usize),
    #[error("method {method}: {source}")]
    InMethod {
        method: String,
        source: Box<DecodeError>,
    },
}

struct Cursor<'a> {
    b: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn byte(&mut self) -> Result<u8, DecodeError> {
        let v = *self.b.get(self.pos).ok_or(DecodeError::UnexpectedEnd)?;
        self.pos += 1;
        Ok(v)
    }

    fn bytes(&mut self, n: usize) -> Result<&[u8], DecodeError> {
        let s = self
            .b
            .get(self.pos..self.pos + n)
            .ok_or(DecodeError::UnexpectedEnd)?;
        self.pos += n;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut a = [0; N];
        a.copy_from_slice(self.bytes(N)?);
        Ok(a)
    }

    /// A PkgLength; returns the end offset of the package it opens.
    fn pkg_end(&mut self) -> Result<usize, DecodeError> {
        let start = self.pos;
        let len = self.raw_len()?;
        let end = start + len;
        if end > self.b.len() {
            return Err(DecodeError::PackagePastEnd(start));
        }
        Ok(end)
    }

    fn raw_len(&mut self) -> Result<usize, DecodeError> {
        let lead = self.byte()?;
        let extra = (lead >> 6) as usize;
        if extra == 0 {
            return Ok((lead & 0x3f) as usize);
        }
        let mut v = (lead & 0xf) as usize;
        for i in 0..extra {
            v |= (self.byte()? as usize) << (4 + 8 * i);
        }
        Ok(v)
    }

    fn seg(&mut self) -> Result<String, DecodeError> {
        let s = self.bytes(4)?;
        if !s
            .iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == b'_')
        {
            return Err(DecodeError::BadNameSegment(s.to_vec()));
        }
        Ok(String::from_utf8_lossy(s).into_owned())
    }

    /// A NameString resolved against `scope` (a list of segments).
    fn name(&mut self, scope: &[String]) -> Result<Vec<String>, DecodeError> {
        let mut base: Vec<String> = scope.to_vec();
        if self.b.get(self.pos) == Some(&b'\\') {
            self.pos += 1;
            base.clear();
        }
        while self.b.get(self.pos) == Some(&b'^') {
            self.pos += 1;
            base.pop().ok_or(DecodeError::AboveRoot)?;
        }
        let n = match self.byte()? {
            0 => 0,
            0x2e => 2,
            0x2f => self.byte()? as usize,
            _ => {
                self.pos -= 1;
                1
            }
        };
        for _ in 0..n {
            base.push(self.seg()?);
        }
        Ok(base)
    }

    fn integer(&mut self) -> Result<u64, DecodeError> {
        Ok(match self.byte()? {
            0x00 => 0,
            0x01 => 1,
            0xff => u64::MAX,
            0x0a => u64::from(self.byte()?),
            0x0b => u64::from(u16::from_le_bytes(self.array()?)),
            0x0c => u64::from(u32::from_le_bytes(self.array()?)),
            0x0e => u64::from_le_bytes(self.array()?),
            op => return Err(DecodeError::NotAnInteger(op)),
        })
    }

    fn data(&mut self) -> Result<Object, DecodeError> {
        match self.b.get(self.pos) {
            Some(0x0d) => {
                self.pos += 1;
                let end = self.b[self.pos..]
                    .iter()
                    .position(|c| *c == 0)
                    .ok_or(DecodeError::UnterminatedString)?;
                let s = String::from_utf8_lossy(self.bytes(end)?).into_owned();
                self.pos += 1;
                Ok(Object::String(s))
            }
            Some(0x11) => {
                self.pos += 1;
                let end = self.pkg_end()?;
                let n = self.integer()? as usize;
                // A size past the initializer zero-fills the rest.
                if self.pos + n < end {
                    return Err(DecodeError::BufferSize);
                }
                self.pos = end;
                Ok(Object::Buffer(n))
            }
            Some(0x12) => {
                self.pos += 1;
                let end = self.pkg_end()?;
                let n = self.byte()? as usize;
                let mut count = 0;
                while self.pos < end {
                    self.data()?;
                    count += 1;
                }
                if self.pos != end || count != n {
                    return Err(DecodeError::PackageCount);
                }
                Ok(Object::Package(n))
            }
            _ => self.integer().map(Object::Integer),
        }
    }
}

fn path(p: &[String]) -> String {
    format!("\\{}", p.join("."))
}

/// Method bodies found: the method's path, start and end offsets.
type Bodies = Vec<(Vec<String>, usize, usize)>;

fn terms(
    c: &mut Cursor,
    end: usize,
    scope: &[String],
    out: &mut Vec<(String, Object)>,
    bodies: &mut Bodies,
) -> Result<(), DecodeError> {
    while c.pos < end {
        let op = c.byte()?;
        match op {
            0x08 => {
                let n = c.name(scope)?;
                let v = c.data()?;
                out.push((path(&n), v));
            }
            0x10 | 0x14 => {
                let e = c.pkg_end()?;
                let n = c.name(scope)?;
                if op == 0x10 {
                    out.push((path(&n), Object::Scope));
                    terms(c, e, &n, out, bodies)?;
                } else {
                    let flags = c.byte()?;
                    out.push((path(&n), Object::Method(flags & 7, flags & 8 != 0)));
                    bodies.push((n.clone(), c.pos, e));
                    c.pos = e;
                }
            }
            0x5b => match c.byte()? {
                0x82 => {
                    let e = c.pkg_end()?;
                    let n = c.name(scope)?;
                    out.push((path(&n), Object::Device));
                    terms(c, e, &n, out, bodies)?;
                }
                0x80 => {
                    let n = c.name(scope)?;
                    let space = c.byte()?;
                    let off = c.integer()?;
                    let len = c.integer()?;
                    out.push((path(&n), Object::Region(space, off, len)));
                }
                0x81 => {
                    let e = c.pkg_end()?;
                    c.name(scope)?;
                    c.byte()?;
                    while c.pos < e {
                        if c.b[c.pos] == 0 {
                            c.pos += 1;
                            c.raw_len()?;
                        } else {
                            let mut n = scope.to_vec();
                            n.push(c.seg()?);
                            c.raw_len()?;
                            out.push((path(&n), Object::FieldUnit));
                        }
                    }
                    if c.pos != e {
                        return Err(DecodeError::FieldListOverrun);
                    }
                }
                x => return Err(DecodeError::ExtendedOpcode(x)),
            },
            x => return Err(DecodeError::Opcode(x, c.pos - 1)),
        }
    }
    if c.pos != end {
        return Err(DecodeError::TermListOverrun { pos: c.pos, end });
    }
    Ok(())
}

/// Decodes a definition block's body into `(path, object)` pairs, and
/// checks every method body: each term of the subset this module
/// emits must have exactly its operands, and a method invoked by name
/// must exist with its argument count.
pub fn decode(body: &[u8]) -> Result<Vec<(String, Object)>, DecodeError> {
    let mut c = Cursor { b: body, pos: 0 };
    let mut out = Vec::new();
    let mut bodies = Vec::new();
    terms(&mut c, body.len(), &[], &mut out, &mut bodies)?;
    let methods: Vec<(Vec<String>, u8)> = out
        .iter()
        .filter_map(|(p, o)| match o {
            Object::Method(n, _) => Some((
                p.trim_start_matches('\\')
                    .split('.')
                    .map(str::to_string)
                    .collect(),
                *n,
            )),
            _ => None,
        })
        .collect();
    for (scope, start, end) in bodies {
        let mut m = Body {
            c: Cursor {
                b: body,
                pos: start,
            },
            scope: scope.clone(),
            methods: &methods,
            locals: Vec::new(),
        };
        m.term_list(end).map_err(|e| DecodeError::InMethod {
            method: path(&scope),
            source: Box::new(e),
        })?;
    }
    Ok(out)
}

/// A method body being checked.
struct Body<'a> {
    c: Cursor<'a>,
    scope: Vec<String>,
    methods: &'a [(Vec<String>, u8)],
    /// Names declared in the body (regions, fields, Name objects).
    locals: Vec<String>,
}

impl Body<'_> {
    fn term_list(&mut self, end: usize) -> Result<(), DecodeError> {
        while self.c.pos < end {
            self.term()?;
        }
        if self.c.pos != end {
            return Err(DecodeError::BodyOverrun(self.c.pos));
        }
        Ok(())
    }

    fn peek(&self) -> Result<u8, DecodeError> {
        self.c
            .b
            .get(self.c.pos)
            .copied()
            .ok_or(DecodeError::UnexpectedEnd)
    }

    fn is_name_start(b: u8) -> bool {
        b == b'\\' || b == b'^' || b == b'_' || b.is_ascii_uppercase() || b == 0x2e || b == 0x2f
    }

    /// The arity of the method `name` names, if it is one: relative
    /// single segments are searched from the scope outwards.
    fn method_args(&self, name: &[String], absolute: bool) -> Option<u8> {
        let find = |p: &[String]| {
            self.methods
                .iter()
                .find(|(m, _)| m.as_slice() == p)
                .map(|(_, n)| *n)
        };
        if absolute || name.len() > 1 {
            return find(name);
        }
        let mut base = self.scope.clone();
        loop {
            let mut p = base.clone();
            p.extend_from_slice(name);
            if let Some(n) = find(&p) {
                return Some(n);
            }
            base.pop()?;
        }
    }

    /// A NameString as an operand or a call: checks a call's arguments.
    fn name_term(&mut self, call: bool) -> Result<(), DecodeError> {
        let absolute = self.peek()? == b'\\';
        let n = self.c.name(&[])?;
        if !call {
            return Ok(());
        }
        let last = n.last().cloned().unwrap_or_default();
        if self.locals.contains(&last) {
            return Ok(());
        }
        // Fields and other objects outside the method: not calls.
        match self.method_args(&n, absolute) {
            Some(args) => {
                for _ in 0..args {
                    self.term_arg()?;
                }
                Ok(())
            }
            None => Ok(()),
        }
    }

    fn target(&mut self) -> Result<(), DecodeError> {
        if self.peek()? == 0 {
            self.c.pos += 1;
            return Ok(());
        }
        self.super_name()
    }

    fn super_name(&mut self) -> Result<(), DecodeError> {
        match self.peek()? {
            0x60..=0x6e => {
                self.c.pos += 1;
                Ok(())
            }
            0x88 => {
                self.c.pos += 1;
                self.term_arg()?;
                self.term_arg()?;
                self.target()
            }
            0x83 => {
                self.c.pos += 1;
                self.term_arg()
            }
            b if Self::is_name_start(b) => self.name_term(false),
            b => Err(DecodeError::NotATarget(b, self.c.pos)),
        }
    }

    fn term_arg(&mut self) -> Result<(), DecodeError> {
        match self.peek()? {
            0x00 | 0x01 | 0xff | 0x0a | 0x0b | 0x0c | 0x0e | 0x0d | 0x11 | 0x12 => {
                self.c.data().map(|_| ())
            }
            0x60..=0x6e => {
                self.c.pos += 1;
                Ok(())
            }
            b if Self::is_name_start(b) => self.name_term(true),
            _ => self.operation(true),
        }
    }

    fn term(&mut self) -> Result<(), DecodeError> {
        match self.peek()? {
            b if Self::is_name_start(b) => self.name_term(true),
            _ => self.operation(false),
        }
    }

    /// An operator; `value`: it must produce a value.
    fn operation(&mut self, value: bool) -> Result<(), DecodeError> {
        let at = self.c.pos;
        let op = self.c.byte()?;
        match op {
            // Store(TermArg, SuperName)
            0x70 => {
                self.term_arg()?;
                self.super_name()
            }
            // Add, Concatenate, Subtract, And, Or: (a, b, target)
            0x72 | 0x73 | 0x74 | 0x7b | 0x7d => {
                self.term_arg()?;
                self.term_arg()?;
                self.target()
            }
            0x75 => self.super_name(),
            0x86 => {
                self.super_name()?;
                self.term_arg()
            }
            0x87 | 0x8e => self.super_name(),
            0x83 | 0x92 => self.term_arg(),
            0x88 => {
                self.term_arg()?;
                self.term_arg()?;
                self.target()
            }
            0x90 | 0x91 | 0x93 | 0x94 | 0x95 => {
                self.term_arg()?;
                self.term_arg()
            }
            0x96 | 0x99 => {
                self.term_arg()?;
                self.target()
            }
            0x9e => {
                self.term_arg()?;
                self.term_arg()?;
                self.term_arg()?;
                self.target()
            }
            0xa0 | 0xa2 if !value => {
                let e = self.c.pkg_end()?;
                self.term_arg()?;
                self.term_list(e)
            }
            0xa1 if !value => {
                let e = self.c.pkg_end()?;
                self.term_list(e)
            }
            0xa4 if !value => self.term_arg(),
            0x08 if !value => {
                let n = self.c.name(&[])?;
                self.locals.extend(n.last().cloned());
                self.c.data().map(|_| ())
            }
            0x5b => match self.c.byte()? {
                0x21 | 0x22 if !value => self.term_arg(),
                0x33 => Ok(()),
                0x80 if !value => {
                    let n = self.c.name(&[])?;
                    self.locals.extend(n.last().cloned());
                    self.c.byte()?;
                    self.term_arg()?;
                    self.term_arg()
                }
                0x81 if !value => {
                    let e = self.c.pkg_end()?;
                    self.c.name(&[])?;
                    self.c.byte()?;
                    while self.c.pos < e {
                        if self.c.b[self.c.pos] == 0 {
                            self.c.pos += 1;
                        } else {
                            let s = self.c.seg()?;
                            self.locals.push(s);
                        }
                        self.c.raw_len()?;
                    }
                    if self.c.pos != e {
                        return Err(DecodeError::FieldListOverrun);
                    }
                    Ok(())
                }
                x => Err(DecodeError::ExtendedOpcodeAt(x, at)),
            },
            x if value => Err(DecodeError::OpcodeForValue(x, at)),
            x => Err(DecodeError::Opcode(x, at)),
        }
    }
}
