//! Label selectors over grouping keys, as in PromQL: `job="x",instance=~"ci-.*"`.
//!
//! Shared by the server's bulk clean-up (`DELETE /api/v1/groups`) and the
//! client commands (`pgw list -s`, `pgw delete -s`), so both read a selector
//! the same way. Matchers are `=`, `!=`, `=~` and `!~`; regular expressions are
//! anchored at both ends and a missing label matches as the empty string, both
//! as in Prometheus. Braces are optional, and so are the quotes around a value
//! made only of characters that cannot be mistaken for selector syntax
//! (`job=node,instance=~web-.*`), since that is what people type in a shell.
//!
//! Anything else in an unquoted value is refused rather than guessed at: a
//! space (`job=node instance=vm` is a missing comma or a missing pair of
//! quotes), a value starting with `=`, `~` or `!` (`job==node` is a typo of
//! the operator, not a value `=node`), and a regular-expression character
//! after `=` or `!=` (`job=ci-.*` is a forgotten `~`). A delete that reads
//! a typo as some other selector is worse than one that stops.

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

    /// The label names, each once, of the matchers that hold for no group
    /// because no group has the label (`has_label` says whether some group
    /// does) and the matcher refuses the empty value a missing label reads
    /// as: `jobb="node"`, a typo that makes the whole selector match nothing.
    /// A matcher that accepts the empty value (`env=""`, `env!=prod`) is
    /// left out: it holds for a group without the label, as in Prometheus.
    pub(crate) fn unknown_label_names(&self, has_label: impl Fn(&str) -> bool) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for m in &self.matchers {
            if !m.matches("") && !names.contains(&m.name.as_str()) && !has_label(&m.name) {
                names.push(&m.name);
            }
        }
        names
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

/// Characters an unquoted value may hold for any operator: nothing in them
/// can be read as selector syntax (a separator, an operator, a quote).
fn plain(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ':' | '/' | '@' | '+')
}

/// The regular-expression characters an unquoted `=~` or `!~` value may
/// also hold. Braces and commas are left out: `}` closes a selector and `,`
/// separates matchers, so `a{1,2}` needs quotes.
fn regex_char(c: char) -> bool {
    matches!(
        c,
        '*' | '?' | '(' | ')' | '[' | ']' | '|' | '^' | '$' | '\\'
    )
}

impl Parser<'_> {
    fn err(&self, message: impl Into<String>) -> SelectorError {
        self.err_at(self.pos, message)
    }

    fn err_at(&self, pos: usize, message: impl Into<String>) -> SelectorError {
        SelectorError {
            input: self.input.to_string(),
            column: self.input[..pos].chars().count() + 1,
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

    /// At the end of the matcher list: the input's end, or `}` when braced.
    fn at_end(&self, braced: bool) -> bool {
        self.rest().is_empty() || (braced && self.rest().starts_with('}'))
    }

    fn selector(mut self) -> Result<Selector, SelectorError> {
        self.skip_space();
        let braced = self.eat("{");
        let mut matchers = Vec::new();
        loop {
            self.skip_space();
            if self.at_end(braced) {
                break;
            }
            let (matcher, unquoted) = self.matcher()?;
            let value_end = self.pos;
            self.skip_space();
            let spaced = self.pos > value_end;
            if self.eat(",") {
                matchers.push(matcher);
                continue;
            }
            if self.at_end(braced) {
                matchers.push(matcher);
                break;
            }
            if self.rest().starts_with('}') {
                return Err(self.err("a `}` without an opening `{`"));
            }
            if unquoted && spaced {
                // `job=node instance=vm`: one value with a space, or two
                // matchers without their comma. Either way, say both.
                let tail = self.rest();
                let tail = tail[..tail.find([',', '}']).unwrap_or(tail.len())].trim_end();
                let Matcher {
                    name, op, value, ..
                } = &matcher;
                let op = op.as_str();
                return Err(self.err(format!(
                    "a value with spaces must be quoted ({name}{op}\"{value} {tail}\"); \
                     separate matchers with `,` ({name}{op}{value},{tail})"
                )));
            }
            return Err(self.err("expected `,` between matchers"));
        }
        self.skip_space();
        if braced && !self.eat("}") {
            return Err(self.err("expected `,` or a closing `}`"));
        }
        self.skip_space();
        if !self.rest().is_empty() {
            return Err(self.err("nothing may follow the closing `}`"));
        }
        Ok(Selector { matchers })
    }

    /// One matcher, and whether its value was unquoted.
    fn matcher(&mut self) -> Result<(Matcher, bool), SelectorError> {
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
        let op_at = self.pos;
        let op = if self.eat("=~") {
            Op::Re
        } else if self.eat("!~") {
            Op::NotRe
        } else if self.eat("!=") {
            Op::Ne
        } else if self.eat("=") {
            Op::Eq
        } else if self.rest().starts_with("~=") {
            return Err(self.err("`~=` is not an operator: use `=~`"));
        } else {
            return Err(self.err(format!(
                "expected an operator (`=`, `!=`, `=~` or `!~`) after label name {name:?}"
            )));
        };
        // `job==node` would otherwise be `job` equal to "=node".
        if let Some(c @ ('=' | '~' | '!')) = self.rest().chars().next() {
            let use_ = match (op, c) {
                (Op::Eq, '=') => "`=` or `=~`",
                (Op::Eq, _) | (Op::Ne, '=') => "`!=` or `!~`",
                (Op::Ne, _) | (Op::NotRe, _) => "`!~`",
                (Op::Re, _) => "`=~`",
            };
            return Err(self.err_at(
                op_at,
                format!(
                    "`{}{c}` is not an operator: use {use_} (quote a value that starts with `{c}`)",
                    op.as_str()
                ),
            ));
        }
        self.skip_space();
        let value_at = self.pos;
        let (value, unquoted) = match self.rest().chars().next() {
            Some(quote @ ('"' | '\'')) => (self.quoted(quote)?, false),
            _ => (self.unquoted(&name, op)?, true),
        };
        let regex = match op {
            Op::Re | Op::NotRe => Some(Regex::new(&format!("^(?:{value})$")).map_err(|e| {
                self.err_at(
                    value_at,
                    format!("invalid regular expression for label {name:?}: {e}"),
                )
            })?),
            Op::Eq | Op::Ne => None,
        };
        let matcher = Matcher {
            name,
            op,
            value,
            regex,
        };
        Ok((matcher, unquoted))
    }

    /// An unquoted value: up to a space, a comma or a closing brace, made
    /// only of [`plain`] characters (and [`regex_char`]s for `=~` and `!~`).
    /// Empty is the empty string, as `env=""`.
    fn unquoted(&mut self, name: &str, op: Op) -> Result<String, SelectorError> {
        let regex = matches!(op, Op::Re | Op::NotRe);
        let len = self
            .rest()
            .find(|c: char| c.is_whitespace() || c == ',' || c == '}')
            .unwrap_or(self.rest().len());
        let value = &self.rest()[..len];
        if let Some((i, c)) = value
            .char_indices()
            .find(|&(_, c)| !(plain(c) || (regex && regex_char(c))))
        {
            let op = op.as_str();
            let message = if regex_char(c) {
                format!(
                    "`{c}` is a regular-expression character, but `{op}` compares exactly: \
                     use `{}` for a regex, or quote the value ({name}{op}\"{value}\")",
                    if op == "=" { "=~" } else { "!~" }
                )
            } else {
                format!("`{c}` must be inside a quoted value ({name}{op}\"…\")")
            };
            return Err(self.err_at(self.pos + i, message));
        }
        let value = value.to_string();
        self.pos += len;
        Ok(value)
    }

    /// A value in double or single quotes, with `\n`, `\t`, `\\` and quote
    /// escapes; any other backslash is kept, so a regex escape like `\.`
    /// survives.
    fn quoted(&mut self, quote: char) -> Result<String, SelectorError> {
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
        assert!(e.message.contains("`,`"), "{e}");
        assert_eq!(
            e.to_string(),
            r#"bad selector "job=\"x\" instance=\"y\"" at column 9: expected `,` between matchers"#
        );
    }

    /// The rule for unquoted values, form by form: what each accepted form
    /// reads as, and where and why each refused form is refused.
    #[test]
    fn unquoted_values_follow_one_rule() {
        type Read<'a> = &'a [(&'a str, Op, &'a str)];
        let accepted: &[(&str, Read)] = &[
            ("job=node", &[("job", Op::Eq, "node")]),
            ("job = node", &[("job", Op::Eq, "node")]),
            ("path=/var/tmp", &[("path", Op::Eq, "/var/tmp")]),
            (
                "url=http://h:9100/metrics",
                &[("url", Op::Eq, "http://h:9100/metrics")],
            ),
            ("v=1.2.3-rc_1+b", &[("v", Op::Eq, "1.2.3-rc_1+b")]),
            ("who=ops@example", &[("who", Op::Eq, "ops@example")]),
            ("city=Zürich", &[("city", Op::Eq, "Zürich")]),
            ("env=", &[("env", Op::Eq, "")]),
            ("env=,job=x", &[("env", Op::Eq, ""), ("job", Op::Eq, "x")]),
            ("job!=node", &[("job", Op::Ne, "node")]),
            ("i=~web-.*", &[("i", Op::Re, "web-.*")]),
            (
                r"i=~(a|b)[0-9]+\.x?^$",
                &[("i", Op::Re, r"(a|b)[0-9]+\.x?^$")],
            ),
            ("i!~db.*", &[("i", Op::NotRe, "db.*")]),
            ("{job=x}", &[("job", Op::Eq, "x")]),
            ("job=x,", &[("job", Op::Eq, "x")]),
            (r#"job="a b""#, &[("job", Op::Eq, "a b")]),
            (r#"job="=x""#, &[("job", Op::Eq, "=x")]),
            ("job='x,y'", &[("job", Op::Eq, "x,y")]),
            (r#"i=~"a{1,2}""#, &[("i", Op::Re, "a{1,2}")]),
        ];
        for (input, want) in accepted {
            let parsed = sel(input);
            let got: Vec<(&str, Op, &str)> = parsed
                .matchers
                .iter()
                .map(|m| (m.name.as_str(), m.op, m.value.as_str()))
                .collect();
            assert_eq!(&got, want, "{input}");
        }

        let refused: &[(&str, usize, &str)] = &[
            (
                "job==node",
                4,
                "`==` is not an operator: use `=` or `=~` (quote a value that starts with `=`)",
            ),
            (
                "job!==node",
                4,
                "`!==` is not an operator: use `!=` or `!~`",
            ),
            ("job!=~node", 4, "`!=~` is not an operator: use `!~`"),
            ("job=!node", 4, "`=!` is not an operator: use `!=` or `!~`"),
            ("job=~~node", 4, "`=~~` is not an operator: use `=~`"),
            ("job=~=node", 4, "`=~=` is not an operator: use `=~`"),
            ("job~=node", 4, "`~=` is not an operator: use `=~`"),
            (
                "job=node instance=vm",
                10,
                "a value with spaces must be quoted (job=\"node instance=vm\"); \
                 separate matchers with `,` (job=node,instance=vm)",
            ),
            (
                "job=node,instance=~web-.* env=prod,x=y",
                27,
                "a value with spaces must be quoted (instance=~\"web-.* env=prod\")",
            ),
            (
                "job=ci-.*",
                9,
                "`*` is a regular-expression character, but `=` compares exactly: \
                 use `=~` for a regex, or quote the value (job=\"ci-.*\")",
            ),
            (
                "job!=a|b",
                7,
                "but `!=` compares exactly: use `!~` for a regex",
            ),
            (
                "job=a=b",
                6,
                "`=` must be inside a quoted value (job=\"…\")",
            ),
            (r#"job=a"b""#, 6, "`\"` must be inside a quoted value"),
            ("job=a#b", 6, "`#` must be inside a quoted value"),
            ("i=~a{2}", 5, "`{` must be inside a quoted value"),
            ("job=x}", 6, "a `}` without an opening `{`"),
            ("{job=x} y", 9, "nothing may follow the closing `}`"),
        ];
        for (input, column, message) in refused {
            let e = input
                .parse::<Selector>()
                .map(|s| panic!("{input:?} was read as {s}"))
                .unwrap_err();
            assert!(
                e.message.contains(message),
                "{input:?}: {:?} lacks {message:?}",
                e.message
            );
            assert_eq!(e.column, *column, "{input:?}: {e}");
        }
    }

    #[test]
    fn label_names_no_group_has_are_named() {
        let has = |name: &str| ["job", "instance"].contains(&name);
        let s = sel("jobb=node,instance=~web-.*,jobb!~x,envv=~.+");
        assert_eq!(s.unknown_label_names(has), ["jobb", "envv"]);
        // A missing label reads as "": these hold for every group.
        assert!(sel(r#"env="",team!=ops,x=~.*"#)
            .unknown_label_names(has)
            .is_empty());
        assert!(sel("job=x").unknown_label_names(has).is_empty());
    }
}
