// SPDX-License-Identifier: GPL-2.0
//! Armed fault rules, the part every device model's fault injection shares:
//! a list of rules, each matched against a call by the model, consumed a
//! given number of times or armed until cleared, and a count of the calls
//! a fault changed. The models define their rules (what they match, what
//! they do) and implement [`Rule`] for them.

/// The most rules a model keeps armed: requests (from the host or from
/// the guest's `@@ VMM` lines) cannot grow the list without bound.
pub const MAX_RULES: usize = 64;

/// A rule could not be armed: [`MAX_RULES`] already are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{MAX_RULES} fault rules are armed already (clear the faults first)")]
pub struct TooManyRules;

/// A fault rule of some model.
pub trait Rule {
    /// What the rule does to a matching call.
    type Action: Clone;
    fn action(&self) -> &Self::Action;
    /// Calls left to fault; `None` for every call until cleared.
    fn remaining(&mut self) -> &mut Option<u32>;
}

/// The armed rules of a model.
#[derive(Debug)]
pub struct Rules<R> {
    rules: Vec<R>,
    /// Calls that an injected fault changed.
    pub injected: u64,
}

impl<R> Default for Rules<R> {
    fn default() -> Self {
        Rules {
            rules: Vec::new(),
            injected: 0,
        }
    }
}

impl<R: Rule> Rules<R> {
    /// Arms `r`; the rules now armed, or an error if [`MAX_RULES`] are.
    pub fn add(&mut self, r: R) -> Result<usize, TooManyRules> {
        if self.rules.len() >= MAX_RULES {
            return Err(TooManyRules);
        }
        self.rules.push(r);
        Ok(self.rules.len())
    }

    pub fn clear(&mut self) {
        self.rules.clear();
    }

    pub fn armed(&self) -> usize {
        self.rules.len()
    }

    /// Takes the first rule `pick` accepts, consuming one of its counts
    /// (a rule whose count runs out is disarmed), and counts the injection.
    pub fn take(&mut self, pick: impl Fn(&R) -> bool) -> Option<R::Action> {
        let i = self.rules.iter().position(pick)?;
        let action = self.rules[i].action().clone();
        if let Some(n) = self.rules[i].remaining() {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.rules.remove(i);
            }
        }
        self.injected += 1;
        Some(action)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct R(u8, Option<u32>);

    impl Rule for R {
        type Action = u8;
        fn action(&self) -> &u8 {
            &self.0
        }
        fn remaining(&mut self) -> &mut Option<u32> {
            &mut self.1
        }
    }

    #[test]
    fn counted_rules_run_out_and_others_stay() {
        let mut rules = Rules::default();
        rules.add(R(1, Some(2))).unwrap();
        rules.add(R(2, None)).unwrap();
        assert_eq!(rules.take(|r| r.0 == 1), Some(1));
        assert_eq!(rules.take(|r| r.0 == 1), Some(1));
        assert_eq!(rules.take(|r| r.0 == 1), None);
        assert_eq!(rules.armed(), 1);
        for _ in 0..5 {
            assert_eq!(rules.take(|_| true), Some(2));
        }
        assert_eq!(rules.injected, 7);
        rules.clear();
        assert_eq!(rules.take(|_| true), None);
    }

    #[test]
    fn rules_are_capped() {
        let mut rules = Rules::default();
        for i in 0..MAX_RULES {
            assert_eq!(rules.add(R(0, None)), Ok(i + 1));
        }
        assert_eq!(rules.add(R(0, None)), Err(TooManyRules));
        assert_eq!(rules.armed(), MAX_RULES);
        assert!(TooManyRules.to_string().contains("clear"));
        rules.clear();
        assert_eq!(rules.add(R(0, None)), Ok(1));
    }
}
