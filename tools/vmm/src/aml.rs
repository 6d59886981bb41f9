// SPDX-License-Identifier: GPL-2.0
//! A small AML encoder: the terms the VMM's SSDT needs, written from the
//! ACPI specification's grammar (section 20, "ACPI Machine Language
//! Specification").
//!
//! Terms are built as byte vectors; objects that own a package length
//! (scopes, devices, methods, fields, `If`/`While`) compute it from their
//! encoded contents. Names are given in ASL form (`"\\_SB.NVDR"`, `"NCAL"`).

/// One encoded term (or term list).
pub type Term = Vec<u8>;

/// The `PkgLength` encoding of a package whose contents are `len` bytes
/// (the length counts its own bytes).
pub fn pkg_length(len: usize) -> Vec<u8> {
    // One byte holds up to 63; n extra bytes add 8 bits each after a
    // 4-bit nibble.
    for extra in 0..4usize {
        let total = len + 1 + extra;
        let fits = if extra == 0 {
            total < 0x40
        } else {
            total < 1 << (4 + 8 * extra)
        };
        if fits {
            if extra == 0 {
                return vec![total as u8];
            }
            let mut v = vec![((extra as u8) << 6) | (total & 0xf) as u8];
            for i in 0..extra {
                v.push((total >> (4 + 8 * i)) as u8);
            }
            return v;
        }
    }
    panic!("AML package of {len} bytes exceeds the encoding's 256 MiB limit");
}

fn name_seg(seg: &str) -> [u8; 4] {
    let mut s = [b'_'; 4];
    assert!(
        !seg.is_empty()
            && seg.len() <= 4
            && seg
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'),
        "bad AML name segment '{seg}'"
    );
    s[..seg.len()].copy_from_slice(seg.as_bytes());
    s
}

/// A `NameString`: `\` root prefix, `^` parent prefixes and dotted
/// segments of up to four characters.
pub fn name(path: &str) -> Term {
    let mut v = Vec::new();
    let mut rest = path;
    if let Some(r) = rest.strip_prefix('\\') {
        v.push(b'\\');
        rest = r;
    }
    while let Some(r) = rest.strip_prefix('^') {
        v.push(b'^');
        rest = r;
    }
    let segs: Vec<&str> = if rest.is_empty() {
        Vec::new()
    } else {
        rest.split('.').collect()
    };
    match segs.len() {
        0 => v.push(0),
        1 => {}
        2 => v.push(0x2e),
        n => {
            v.push(0x2f);
            v.push(u8::try_from(n).expect("at most 255 segments"));
        }
    }
    for s in segs {
        v.extend(name_seg(s));
    }
    v
}

/// An integer constant in its shortest encoding.
pub fn int(n: u64) -> Term {
    match n {
        0 => vec![0x00],
        1 => vec![0x01],
        2..=0xff => vec![0x0a, n as u8],
        0x100..=0xffff => {
            let mut v = vec![0x0b];
            v.extend((n as u16).to_le_bytes());
            v
        }
        0x1_0000..=0xffff_ffff => {
            let mut v = vec![0x0c];
            v.extend((n as u32).to_le_bytes());
            v
        }
        _ => {
            let mut v = vec![0x0e];
            v.extend(n.to_le_bytes());
            v
        }
    }
}

/// A string constant.
pub fn string(s: &str) -> Term {
    let mut v = vec![0x0d];
    v.extend(s.bytes().filter(|b| *b != 0 && b.is_ascii()));
    v.push(0);
    v
}

/// `Buffer() { bytes }`.
pub fn buffer(bytes: &[u8]) -> Term {
    let mut body = int(bytes.len() as u64);
    body.extend_from_slice(bytes);
    let mut v = vec![0x11];
    v.extend(pkg_length(body.len()));
    v.extend(body);
    v
}

/// `LocalN`.
pub fn local(n: u8) -> Term {
    assert!(n < 8);
    vec![0x60 + n]
}

/// `ArgN`.
pub fn arg(n: u8) -> Term {
    assert!(n < 7);
    vec![0x68 + n]
}

fn cat(parts: &[&[u8]]) -> Term {
    parts.concat()
}

fn with_pkg(prefix: &[u8], body: Term) -> Term {
    let mut v = prefix.to_vec();
    v.extend(pkg_length(body.len()));
    v.extend(body);
    v
}

/// `Name(path, value)`.
pub fn name_obj(path: &str, value: Term) -> Term {
    cat(&[&[0x08], &name(path), &value])
}

/// `Scope(path) { terms }`.
pub fn scope(path: &str, terms: &[Term]) -> Term {
    with_pkg(&[0x10], cat(&[&name(path), &terms.concat()]))
}

/// `Device(path) { terms }`.
pub fn device(path: &str, terms: &[Term]) -> Term {
    with_pkg(&[0x5b, 0x82], cat(&[&name(path), &terms.concat()]))
}

/// `Method(path, args, Serialized | NotSerialized) { terms }`.
pub fn method(path: &str, args: u8, serialized: bool, terms: &[Term]) -> Term {
    assert!(args <= 7);
    let flags = args | if serialized { 1 << 3 } else { 0 };
    with_pkg(&[0x14], cat(&[&name(path), &[flags], &terms.concat()]))
}

/// Address spaces of operation regions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegionSpace {
    SystemMemory = 0,
    SystemIo = 1,
    PciConfig = 2,
}

/// `OperationRegion(path, space, offset, length)`.
pub fn op_region(path: &str, space: RegionSpace, offset: Term, length: Term) -> Term {
    cat(&[&[0x5b, 0x80], &name(path), &[space as u8], &offset, &length])
}

/// Field access widths.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Byte = 1,
    Word = 2,
    DWord = 3,
    QWord = 4,
}

/// One element of a field list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldUnit {
    /// A named unit of `bits` bits.
    Named(&'static str, usize),
    /// Skips `bits` bits.
    Reserved(usize),
}

/// `Field(region, access, NoLock, Preserve) { units }`.
pub fn field(region: &str, access: Access, units: &[FieldUnit]) -> Term {
    let mut body = name(region);
    body.push(access as u8);
    for u in units {
        match u {
            FieldUnit::Named(n, bits) => {
                body.extend(name_seg(n));
                body.extend(pkg_length_raw(*bits));
            }
            FieldUnit::Reserved(bits) => {
                body.push(0);
                body.extend(pkg_length_raw(*bits));
            }
        }
    }
    with_pkg(&[0x5b, 0x81], body)
}

/// A field unit's bit count uses the `PkgLength` encoding for a value
/// that does not count its own bytes.
fn pkg_length_raw(value: usize) -> Vec<u8> {
    if value < 0x40 {
        return vec![value as u8];
    }
    let extra = if value < 1 << 12 {
        1
    } else if value < 1 << 20 {
        2
    } else {
        assert!(value < 1 << 28, "field unit too large");
        3
    };
    let mut v = vec![((extra as u8) << 6) | (value & 0xf) as u8];
    for i in 0..extra {
        v.push((value >> (4 + 8 * i)) as u8);
    }
    v
}

/// `Store(value, target)`.
pub fn store(value: Term, target: Term) -> Term {
    cat(&[&[0x70], &value, &target])
}

/// `Return(value)`.
pub fn ret(value: Term) -> Term {
    cat(&[&[0xa4], &value])
}

/// `If (predicate) { terms }`.
pub fn if_(predicate: Term, terms: &[Term]) -> Term {
    with_pkg(&[0xa0], cat(&[&predicate, &terms.concat()]))
}

/// `Else { terms }` (directly after an `If`).
pub fn else_(terms: &[Term]) -> Term {
    with_pkg(&[0xa1], terms.concat())
}

/// `While (predicate) { terms }`.
pub fn while_(predicate: Term, terms: &[Term]) -> Term {
    with_pkg(&[0xa2], cat(&[&predicate, &terms.concat()]))
}

const NULL_TARGET: u8 = 0;

fn binary(op: u8, a: Term, b: Term, target: Option<Term>) -> Term {
    cat(&[&[op], &a, &b, &target.unwrap_or(vec![NULL_TARGET])])
}

/// `Add(a, b, target)`.
pub fn add(a: Term, b: Term, target: Option<Term>) -> Term {
    binary(0x72, a, b, target)
}

/// `And(a, b, target)`.
pub fn and(a: Term, b: Term, target: Option<Term>) -> Term {
    binary(0x7b, a, b, target)
}

/// `Or(a, b, target)`.
pub fn or(a: Term, b: Term, target: Option<Term>) -> Term {
    binary(0x7d, a, b, target)
}

/// `Increment(target)`.
pub fn increment(target: Term) -> Term {
    cat(&[&[0x75], &target])
}

/// `LEqual(a, b)`.
pub fn l_equal(a: Term, b: Term) -> Term {
    cat(&[&[0x93], &a, &b])
}

/// `LNotEqual(a, b)`: `LNot(LEqual(a, b))`.
pub fn l_not_equal(a: Term, b: Term) -> Term {
    cat(&[&[0x92], &l_equal(a, b)])
}

/// `LLess(a, b)`.
pub fn l_less(a: Term, b: Term) -> Term {
    cat(&[&[0x95], &a, &b])
}

/// `LGreater(a, b)`.
pub fn l_greater(a: Term, b: Term) -> Term {
    cat(&[&[0x94], &a, &b])
}

/// `LAnd(a, b)`.
pub fn l_and(a: Term, b: Term) -> Term {
    cat(&[&[0x90], &a, &b])
}

/// `SizeOf(object)`.
pub fn size_of(object: Term) -> Term {
    cat(&[&[0x87], &object])
}

/// `ObjectType(object)`: 3 for a buffer, 4 for a package.
pub fn object_type(object: Term) -> Term {
    cat(&[&[0x8e], &object])
}

/// `DerefOf(Index(object, i))`.
pub fn element(object: Term, i: Term) -> Term {
    cat(&[&[0x83, 0x88], &object, &i, &[NULL_TARGET]])
}

/// `Mid(object, start, length)`.
pub fn mid(object: Term, start: Term, length: Term) -> Term {
    cat(&[&[0x9e], &object, &start, &length, &[NULL_TARGET]])
}

/// `LOr(a, b)`.
pub fn l_or(a: Term, b: Term) -> Term {
    cat(&[&[0x91], &a, &b])
}

/// `Subtract(a, b, target)`.
#[cfg_attr(not(test), allow(dead_code))]
pub fn subtract(a: Term, b: Term, target: Option<Term>) -> Term {
    binary(0x74, a, b, target)
}

/// `Concatenate(a, b, target)`: two buffers (or integers, as buffers)
/// joined.
pub fn concatenate(a: Term, b: Term, target: Option<Term>) -> Term {
    binary(0x73, a, b, target)
}

/// `ToBuffer(operand)`: an integer becomes its little-endian bytes (4 of
/// them under a revision 1 DSDT).
pub fn to_buffer(operand: Term) -> Term {
    cat(&[&[0x96], &operand, &[NULL_TARGET]])
}

/// `ToInteger(operand)`: a buffer's first bytes, little-endian.
pub fn to_integer(operand: Term) -> Term {
    cat(&[&[0x99], &operand, &[NULL_TARGET]])
}

/// `Index(object, i)`: a reference to an element, usable as a `Store`
/// target (to set a package element).
pub fn index(object: Term, i: Term) -> Term {
    cat(&[&[0x88], &object, &i, &[NULL_TARGET]])
}

/// `Package(n) { elements }`: elements are constants (data objects), as
/// the grammar wants; set others at run time with `Store(x, Index(...))`.
pub fn package(elements: &[Term]) -> Term {
    let n = u8::try_from(elements.len()).expect("at most 255 package elements");
    let mut body = vec![n];
    for e in elements {
        body.extend_from_slice(e);
    }
    with_pkg(&[0x12], body)
}

/// `Stall(microseconds)`.
pub fn stall(us: Term) -> Term {
    cat(&[&[0x5b, 0x21], &us])
}

/// `Sleep(milliseconds)`.
pub fn sleep(ms: Term) -> Term {
    cat(&[&[0x5b, 0x22], &ms])
}

/// `Timer`: the monotonic clock in 100 ns units (ACPI 3.0). In a table
/// of revision 1 it may be cut to 32 bits: compare differences masked with
/// `0xFFFFFFFF`, never absolute values.
pub fn timer() -> Term {
    vec![0x5b, 0x33]
}

/// `Notify(object, value)`.
pub fn notify(object: &str, value: Term) -> Term {
    cat(&[&[0x86], &name(object), &value])
}

/// A method invocation: the name followed by its arguments.
pub fn call(path: &str, args: &[Term]) -> Term {
    cat(&[&name(path), &args.concat()])
}

/// A whole definition block: the 36-byte ACPI header (checksum set)
/// followed by `terms`.
pub fn definition_block(
    signature: &[u8; 4],
    revision: u8,
    oem_table_id: &[u8; 8],
    terms: &[Term],
) -> Vec<u8> {
    crate::acpi::sdt(signature, revision, oem_table_id, &terms.concat())
}

/// A decoder for the namespace-level objects this module emits, so that
/// tests can check a table's structure: every package length, name and
/// operand must decode exactly. (The rust-osdev AML interpreters need a
/// nightly compiler; the guest's ACPICA is the real interpreter, in the
/// boot scenarios.)
#[cfg(test)]
pub mod decode {
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

    struct Cursor<'a> {
        b: &'a [u8],
        pos: usize,
    }

    impl Cursor<'_> {
        fn byte(&mut self) -> Result<u8, String> {
            let v = *self.b.get(self.pos).ok_or("unexpected end")?;
            self.pos += 1;
            Ok(v)
        }

        fn bytes(&mut self, n: usize) -> Result<&[u8], String> {
            let s = self.b.get(self.pos..self.pos + n).ok_or("unexpected end")?;
            self.pos += n;
            Ok(s)
        }

        /// A PkgLength; returns the end offset of the package it opens.
        fn pkg_end(&mut self) -> Result<usize, String> {
            let start = self.pos;
            let len = self.raw_len()?;
            let end = start + len;
            if end > self.b.len() {
                return Err(format!("package at {start} ends past the table"));
            }
            Ok(end)
        }

        fn raw_len(&mut self) -> Result<usize, String> {
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

        fn seg(&mut self) -> Result<String, String> {
            let s = self.bytes(4)?;
            if !s
                .iter()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == b'_')
            {
                return Err(format!("bad name segment {s:?}"));
            }
            Ok(String::from_utf8_lossy(s).into_owned())
        }

        /// A NameString resolved against `scope` (a list of segments).
        fn name(&mut self, scope: &[String]) -> Result<Vec<String>, String> {
            let mut base: Vec<String> = scope.to_vec();
            if self.b.get(self.pos) == Some(&b'\\') {
                self.pos += 1;
                base.clear();
            }
            while self.b.get(self.pos) == Some(&b'^') {
                self.pos += 1;
                base.pop().ok_or("^ above the root")?;
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

        fn integer(&mut self) -> Result<u64, String> {
            Ok(match self.byte()? {
                0x00 => 0,
                0x01 => 1,
                0xff => u64::MAX,
                0x0a => u64::from(self.byte()?),
                0x0b => u64::from(u16::from_le_bytes(self.bytes(2)?.try_into().unwrap())),
                0x0c => u64::from(u32::from_le_bytes(self.bytes(4)?.try_into().unwrap())),
                0x0e => u64::from_le_bytes(self.bytes(8)?.try_into().unwrap()),
                op => return Err(format!("expected an integer, found opcode {op:#x}")),
            })
        }

        fn data(&mut self) -> Result<Object, String> {
            match self.b.get(self.pos) {
                Some(0x0d) => {
                    self.pos += 1;
                    let end = self.b[self.pos..]
                        .iter()
                        .position(|c| *c == 0)
                        .ok_or("unterminated string")?;
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
                        return Err("buffer size disagrees with its package".into());
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
                        return Err("package elements disagree with its count".into());
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
    ) -> Result<(), String> {
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
                            return Err("field list overruns its package".into());
                        }
                    }
                    x => return Err(format!("unexpected extended opcode {x:#x}")),
                },
                x => return Err(format!("unexpected opcode {x:#x} at {}", c.pos - 1)),
            }
        }
        if c.pos != end {
            return Err(format!(
                "term list overruns its package ({} > {end})",
                c.pos
            ));
        }
        Ok(())
    }

    /// Decodes a definition block's body into `(path, object)` pairs, and
    /// checks every method body: each term of the subset this module
    /// emits must have exactly its operands, and a method invoked by name
    /// must exist with its argument count.
    pub fn decode(body: &[u8]) -> Result<Vec<(String, Object)>, String> {
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
            m.term_list(end)
                .map_err(|e| format!("method {}: {e}", path(&scope)))?;
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
        fn term_list(&mut self, end: usize) -> Result<(), String> {
            while self.c.pos < end {
                self.term()?;
            }
            if self.c.pos != end {
                return Err(format!("term list overruns its package at {}", self.c.pos));
            }
            Ok(())
        }

        fn peek(&self) -> Result<u8, String> {
            self.c
                .b
                .get(self.c.pos)
                .copied()
                .ok_or("unexpected end".into())
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
        fn name_term(&mut self, call: bool) -> Result<(), String> {
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

        fn target(&mut self) -> Result<(), String> {
            if self.peek()? == 0 {
                self.c.pos += 1;
                return Ok(());
            }
            self.super_name()
        }

        fn super_name(&mut self) -> Result<(), String> {
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
                b => Err(format!("expected a target, found {b:#x} at {}", self.c.pos)),
            }
        }

        fn term_arg(&mut self) -> Result<(), String> {
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

        fn term(&mut self) -> Result<(), String> {
            match self.peek()? {
                b if Self::is_name_start(b) => self.name_term(true),
                _ => self.operation(false),
            }
        }

        /// An operator; `value`: it must produce a value.
        fn operation(&mut self, value: bool) -> Result<(), String> {
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
                            return Err("field list overruns its package".into());
                        }
                        Ok(())
                    }
                    x => Err(format!("unexpected extended opcode {x:#x} at {at}")),
                },
                x => Err(format!(
                    "unexpected opcode {x:#x} at {at}{}",
                    if value {
                        " (where a value is needed)"
                    } else {
                        ""
                    }
                )),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_lengths() {
        assert_eq!(pkg_length(0), [1]);
        assert_eq!(pkg_length(62), [63]);
        // 63 + 2 = 65 = 0x41: two bytes, low nibble 1, then 0x04.
        assert_eq!(pkg_length(63), [0x41, 0x04]);
        assert_eq!(pkg_length(0xffd), [0x4f, 0xff]);
        assert_eq!(pkg_length(0xffe), [0x80 | 0x01, 0x00, 0x01]);
        assert_eq!(pkg_length_raw(8), [8]);
        assert_eq!(pkg_length_raw(0x800), [0x40, 0x80]);
        assert_eq!(pkg_length_raw(0x10_0000), [0xc0, 0x00, 0x00, 0x01]);
    }

    #[test]
    fn names_and_ints() {
        assert_eq!(name("NVDR"), b"NVDR");
        assert_eq!(name("_ADR"), b"_ADR");
        assert_eq!(name("\\_SB.NVDR"), b"\\\x2e_SB_NVDR");
        assert_eq!(name("\\_SB.PCI0.NVMB"), b"\\\x2f\x03_SB_PCI0NVMB");
        assert_eq!(name("\\"), b"\\\x00");
        assert_eq!(name("^NC"), b"^NC__");
        assert_eq!(int(0), [0]);
        assert_eq!(int(1), [1]);
        assert_eq!(int(0x12), [0x0a, 0x12]);
        assert_eq!(int(0x1234), [0x0b, 0x34, 0x12]);
        assert_eq!(int(0x12345678), [0x0c, 0x78, 0x56, 0x34, 0x12]);
        assert_eq!(int(1 << 32)[0], 0x0e);
        assert_eq!(string("ACPI0012"), b"\x0dACPI0012\x00");
        assert_eq!(buffer(&[1, 2]), [0x11, 0x05, 0x0a, 0x02, 1, 2]);
    }

    #[test]
    fn decoder_checks_structure() {
        use decode::{decode, Object};
        let t = [
            scope(
                "\\_SB",
                &[device(
                    "DEV0",
                    &[
                        name_obj("_HID", string("ACPI0012")),
                        method("M", 2, true, &[ret(int(7))]),
                    ],
                )],
            ),
            name_obj("\\BUF", buffer(&[1, 2, 3])),
        ]
        .concat();
        let ns = decode(&t).unwrap();
        assert_eq!(ns[1], ("\\_SB_.DEV0".into(), Object::Device));
        assert_eq!(
            ns[2],
            ("\\_SB_.DEV0._HID".into(), Object::String("ACPI0012".into()))
        );
        assert_eq!(ns[3], ("\\_SB_.DEV0.M___".into(), Object::Method(2, true)));
        assert_eq!(ns[4], ("\\BUF_".into(), Object::Buffer(3)));
        // A package length one byte too long is caught.
        let mut bad = t.clone();
        bad[1] += 1;
        assert!(decode(&bad).is_err());
        assert!(decode(&t[..t.len() - 1]).is_err());
    }

    #[test]
    fn value_ops() {
        assert_eq!(l_or(local(0), int(1)), [0x91, 0x60, 0x01]);
        assert_eq!(subtract(arg(1), int(4), None), [0x74, 0x69, 0x0a, 4, 0]);
        assert_eq!(
            concatenate(local(0), arg(2), Some(local(1))),
            [0x73, 0x60, 0x6a, 0x61]
        );
        assert_eq!(to_buffer(arg(0)), [0x96, 0x68, 0]);
        assert_eq!(to_integer(local(3)), [0x99, 0x63, 0]);
        assert_eq!(index(local(1), int(2)), [0x88, 0x61, 0x0a, 2, 0]);
        // Package(3) { 4, 0, 0 }: PkgLength 5 covers itself, the count
        // and three one- or two-byte integers.
        assert_eq!(
            package(&[int(4), int(0), int(0)]),
            [0x12, 0x06, 0x03, 0x0a, 4, 0, 0]
        );
        assert_eq!(package(&[]), [0x12, 0x02, 0x00]);
    }

    #[test]
    fn decoder_checks_method_bodies() {
        use decode::{decode, Object};
        let callee = method("CALE", 2, true, &[ret(add(arg(0), arg(1), None))]);
        let caller = method(
            "CALR",
            3,
            true,
            &[
                store(package(&[int(4), buffer(&[])]), local(1)),
                store(
                    concatenate(to_buffer(arg(0)), mid(arg(2), int(0), int(4)), None),
                    local(0),
                ),
                if_(
                    l_or(
                        l_greater(size_of(local(0)), int(3)),
                        l_equal(to_integer(local(0)), int(0)),
                    ),
                    &[store(
                        call("CALE", &[arg(1), subtract(arg(1), int(1), None)]),
                        index(local(1), int(0)),
                    )],
                ),
                else_(&[store(element(local(1), int(1)), local(2))]),
                ret(local(1)),
            ],
        );
        let t = scope(
            "\\_SB",
            &[
                name_obj("PKG", package(&[int(1), string("x"), int(0x1234)])),
                device("DEV0", &[callee.clone(), caller.clone()]),
            ],
        );
        let ns = decode(&t).unwrap();
        assert_eq!(ns[1], ("\\_SB_.PKG_".into(), Object::Package(3)));
        // A call with one argument too few: the next term is misread.
        let bad_call = scope(
            "\\_SB",
            &[device(
                "DEV0",
                &[
                    callee.clone(),
                    method(
                        "CALR",
                        0,
                        true,
                        &[ret(call("CALE", &[int(1)])), ret(int(0))],
                    ),
                ],
            )],
        );
        assert!(decode(&bad_call).is_err());
        // Store with no target; a Mid with a missing operand.
        for body in [vec![0x70, 0x60], vec![0xa4, 0x9e, 0x60, 0x01, 0x00]] {
            let m = [
                vec![0x14],
                pkg_length(5 + body.len()),
                b"BAD_".to_vec(),
                vec![0],
                body,
            ]
            .concat();
            assert!(decode(&m).is_err(), "{m:x?}");
        }
    }

    #[test]
    #[should_panic(expected = "bad AML name segment")]
    fn long_segments_are_rejected() {
        name("TOOLONG");
    }
}
