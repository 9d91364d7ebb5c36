//! Label selectors over grouping keys, as in PromQL: `job="x",instance=~"ci-.*"`.
//!
//! Shared by the server's bulk clean-up (`DELETE /api/v1/groups`) and the
//! client commands (`pgw list -s`, `pgw delete -s`), so both read a selector
//! the same way. Matchers are `=`, `!=`, `=~` and `!~`; regular expressions are
//! anchored at both ends and a missing label matches as the empty string, both
//! as in Prometheus. Braces are optional, and so are the quotes around a value
//! that holds no comma (`job=node,instance=~web-.*`), since that is what people
//! type in a shell.

use std::fmt;
use std::str::FromStr;

use regex::Regex;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    Ne,
    Re,
    NotRe,
}

impl Op {
    fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Re => "=~",
            Op::NotRe => "!~",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Matcher {
    pub(crate) name: String,
    pub(crate) op: Op,
    pub(crate) value: String,
    /// Compiled, anchored, for `=~` and `!~`.
    regex: Option<Regex>,
}

impl Matcher {
    pub(crate) fn matches(&self, value: &str) -> bool {
        match (self.op, &self.regex) {
            (Op::Eq, _) => value == self.value,
            (Op::Ne, _) => value != self.value,
            (Op::Re, Some(re)) => re.is_match(value),
            (Op::NotRe, Some(re)) => !re.is_match(value),
            (_, None) => unreachable!("regex matchers are compiled when parsed"),
        }
    }
}

/// A conjunction of matchers; the empty selector matches everything.
#[derive(Debug, Clone, Default)]
pub(crate) struct Selector {
    pub(crate) matchers: Vec<Matcher>,
}

/// Why a selector could not be read, with the 1-based column of the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad selector {input:?} at column {column}: {message}")]
pub(crate) struct SelectorError {
    pub(crate) input: String,
    pub(crate) column: usize,
    pub(crate) message: String,
}

impl Selector {
    /// True if every matcher accepts the label value `get` returns for its
    /// name (a missing label is the empty string).
    pub(crate) fn matches<'a>(&self, get: impl Fn(&str) -> Option<&'a str>) -> bool {
        self.matchers
            .iter()
            .all(|m| m.matches(get(&m.name).unwrap_or("")))
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.matchers.is_empty()
    }
}

impl FromStr for Selector {
    type Err = SelectorError;

    fn from_str(input: &str) -> Result<Selector, SelectorError> {
        Parser { input, pos: 0 }.selector()
    }
}

/// The canonical form: braces omitted, every value double-quoted and escaped,
/// which `from_str` reads back to the same selector.
impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, m) in self.matchers.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{}{}\"", m.name, m.op.as_str())?;
            for c in m.value.chars() {
                match c {
                    '"' => f.write_str("\\\"")?,
                    '\\' => f.write_str("\\\\")?,
                    '\n' => f.write_str("\\n")?,
                    c => write!(f, "{c}")?,
                }
            }
            f.write_str("\"")?;
        }
        Ok(())
    }
}

struct Parser<'a> {
    input: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn err(&self, message: impl Into<String>) -> SelectorError {
        SelectorError {
            input: self.input.to_string(),
            column: self.input[..self.pos].chars().count() + 1,
            message: message.into(),
        }
    }

    fn rest(&self) -> &str {
        &self.input[self.pos..]
    }

    fn skip_space(&mut self) {
        let trimmed = self.rest().trim_start();
        self.pos = self.input.len() - trimmed.len();
    }

    fn eat(&mut self, s: &str) -> bool {
        if self.rest().starts_with(s) {
            self.pos += s.len();
            true
        } else {
            false
        }
    }

    fn selector(mut self) -> Result<Selector, SelectorError> {
        self.skip_space();
        let braced = self.eat("{");
        let mut matchers = Vec::new();
        loop {
            self.skip_space();
            if self.rest().is_empty() || (braced && self.rest().starts_with('}')) {
                break;
            }
            matchers.push(self.matcher()?);
            self.skip_space();
            if !self.eat(",") {
                break;
            }
        }
        self.skip_space();
        if braced && !self.eat("}") {
            return Err(self.err("expected ',' or a closing '}'"));
        }
        self.skip_space();
        if !self.rest().is_empty() {
            return Err(self.err("expected ',' between matchers"));
        }
        Ok(Selector { matchers })
    }

    fn matcher(&mut self) -> Result<Matcher, SelectorError> {
        let name_len = self
            .rest()
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(self.rest().len());
        let name = &self.rest()[..name_len];
        if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(self.err("expected a label name"));
        }
        let name = name.to_string();
        self.pos += name_len;
        self.skip_space();
        let op = if self.eat("=~") {
            Op::Re
        } else if self.eat("!~") {
            Op::NotRe
        } else if self.eat("!=") {
            Op::Ne
        } else if self.eat("=") {
            Op::Eq
        } else {
            return Err(self.err(format!(
                "expected an operator (=, !=, =~ or !~) after label name {name:?}"
            )));
        };
        self.skip_space();
        let value_at = self.pos;
        let value = self.value()?;
        let regex = match op {
            Op::Re | Op::NotRe => Some(Regex::new(&format!("^(?:{value})$")).map_err(|e| {
                self.pos = value_at;
                self.err(format!(
                    "invalid regular expression for label {name:?}: {e}"
                ))
            })?),
            Op::Eq | Op::Ne => None,
        };
        Ok(Matcher {
            name,
            op,
            value,
            regex,
        })
    }

    fn value(&mut self) -> Result<String, SelectorError> {
        let Some(quote) = self
            .rest()
            .chars()
            .next()
            .filter(|c| *c == '"' || *c == '\'')
        else {
            // Unquoted: up to the next comma or closing brace.
            let len = self.rest().find([',', '}']).unwrap_or(self.rest().len());
            let value = self.rest()[..len].trim_end().to_string();
            self.pos += len;
            return Ok(value);
        };
        let start = self.pos;
        self.pos += 1;
        let mut value = String::new();
        let mut chars = self.rest().char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                c if c == quote => {
                    self.pos += i + 1;
                    return Ok(value);
                }
                '\\' => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, 't')) => value.push('\t'),
                    Some((_, c @ ('\\' | '"' | '\''))) => value.push(c),
                    // Kept as written, so a regex escape like `\.` survives.
                    Some((_, c)) => {
                        value.push('\\');
                        value.push(c);
                    }
                    None => break,
                },
                c => value.push(c),
            }
        }
        self.pos = start;
        Err(self.err("unterminated quoted value"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sel(s: &str) -> Selector {
        s.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    fn m(s: &Selector, pairs: &[(&str, &str)]) -> bool {
        s.matches(|name| pairs.iter().find(|(n, _)| *n == name).map(|(_, v)| *v))
    }

    #[test]
    fn quoted_unquoted_and_braced_forms_agree() {
        let group = [("job", "node"), ("instance", "web-1")];
        for s in [
            r#"job="node",instance=~"web-.*""#,
            "job=node,instance=~web-.*",
            r#"{job="node", instance=~'web-.*'}"#,
            " job = node , instance =~ web-.* ",
        ] {
            assert!(m(&sel(s), &group), "{s}");
            assert!(!m(&sel(s), &[("job", "node"), ("instance", "db-1")]), "{s}");
        }
    }

    #[test]
    fn operators_follow_prometheus() {
        let g = [("job", "batch"), ("instance", "")];
        assert!(m(&sel("job!=node"), &g));
        assert!(!m(&sel("job!~ba.*"), &g));
        // Anchored: a substring does not match.
        assert!(!m(&sel("job=~atc"), &g));
        // A missing label is the empty string.
        assert!(m(&sel(r#"env="""#), &g));
        assert!(m(&sel("env=~|prod"), &g));
        assert!(!m(&sel("env!=''"), &g));
        assert!(m(&sel(""), &g));
        assert!(m(&sel("{}"), &g));
    }

    #[test]
    fn display_reads_back() {
        for s in [
            r#"job="a\"b",x!~"c\\d|e\.f""#,
            "job=node,instance=~web-.*",
            r#"v="new\nline""#,
        ] {
            let a = sel(s);
            let b = sel(&a.to_string());
            assert_eq!(a.to_string(), b.to_string());
            assert_eq!(a.matchers.len(), b.matchers.len());
            for (x, y) in a.matchers.iter().zip(&b.matchers) {
                assert_eq!((&x.name, x.op, &x.value), (&y.name, y.op, &y.value));
            }
        }
    }

    #[test]
    fn errors_name_the_column_and_the_problem() {
        let e = "job".parse::<Selector>().unwrap_err();
        assert_eq!(e.column, 4);
        assert!(e.message.contains("operator"), "{e}");
        let e = "job=x,instance=~(".parse::<Selector>().unwrap_err();
        assert_eq!(e.column, 17);
        assert!(e.message.contains("regular expression"), "{e}");
        let e = r#"job="x"#.parse::<Selector>().unwrap_err();
        assert!(e.message.contains("unterminated"), "{e}");
        assert_eq!(e.column, 5);
        let e = "{job=x".parse::<Selector>().unwrap_err();
        assert!(e.message.contains('}'), "{e}");
        let e = "1job=x".parse::<Selector>().unwrap_err();
        assert!(e.message.contains("label name"), "{e}");
        let e = r#"job="x" instance="y""#.parse::<Selector>().unwrap_err();
        assert!(e.message.contains("','"), "{e}");
    }
}
