//! MLflow's run filter language, with OR and parentheses as well as AND:
//! `metrics.loss < 0.5 AND (params.optimizer = 'adam' OR tags.stage ILIKE 'base%')`.
//!
//! Filters come from anyone signed in, so parsing and evaluating one is bounded: the text's
//! length, the nesting of parentheses and the number of conditions are limited, AND and OR
//! chains are stored flat (evaluating or dropping one never recurses per term), and `LIKE`
//! work is charged to the search's [`Budget`].

use super::like::{like, Budget, Exhausted};
use std::collections::HashMap;

/// Longest filter text, in characters.
pub const MAX_LENGTH: usize = 20_000;
/// Deepest nesting of parentheses.
pub const MAX_DEPTH: usize = 50;
/// Most conditions and `IN` list values in one filter.
pub const MAX_TERMS: usize = 1_000;

/// What a condition looks at.
#[derive(Clone, Debug, PartialEq)]
pub enum Field {
    /// `metrics.KEY`: the metric's latest value.
    Metric(String),
    /// `params.KEY`.
    Param(String),
    /// `tags.KEY`.
    Tag(String),
    /// `attributes.NAME`: status, run_name, run_id, start_time, end_time, user_id...
    Attribute(String),
}

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Op {
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `LIKE`, case-sensitive, `%` and `_` wildcards.
    Like,
    /// `ILIKE`, case-insensitive.
    ILike,
}

/// A literal in a filter.
#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    /// A number.
    Number(f64),
    /// A quoted string.
    Text(String),
}

/// A parsed filter.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// Every one holds (two or more).
    And(Vec<Expr>),
    /// Any one holds (two or more).
    Or(Vec<Expr>),
    /// `field op literal`.
    Compare(Field, Op, Literal),
    /// `field IN (...)`, or `NOT IN` when negated.
    In(Field, Vec<Literal>, bool),
}

/// A run as a filter sees it.
#[derive(Debug, Default)]
pub struct RunView {
    /// Latest metric values.
    pub metrics: HashMap<String, f64>,
    /// Parameters.
    pub params: HashMap<String, String>,
    /// Tags.
    pub tags: HashMap<String, String>,
    /// Attributes: text ones as text, times as numbers.
    pub attributes: HashMap<&'static str, Literal>,
    /// Whether `tags.KEY != 'v'` holds when there is no tag KEY, as in MLflow's registry
    /// searches (its client filters prompts out of them that way); elsewhere it does not.
    pub missing_tag_differs: bool,
}

/// Parses a filter; an empty one is `None`. Refuses filters over [`MAX_LENGTH`] characters,
/// [`MAX_DEPTH`] parentheses deep or with more than [`MAX_TERMS`] conditions and values.
pub fn parse(text: &str) -> Result<Option<Expr>, String> {
    parse_naming(text, &BARE_ATTRIBUTES)
}

/// Parses a filter in which the attributes `bare` may be named without `attributes.`.
pub fn parse_naming(text: &str, bare: &'static [&'static str]) -> Result<Option<Expr>, String> {
    let length = text.chars().count();
    if length > MAX_LENGTH {
        return Err(format!(
            "the filter has {length} characters; the limit is {MAX_LENGTH}"
        ));
    }
    let tokens = tokenize(text)?;
    if tokens.is_empty() {
        return Ok(None);
    }
    let mut parser = Parser {
        tokens,
        at: 0,
        depth: 0,
        terms: 0,
        bare,
    };
    let expr = parser.or()?;
    match parser.tokens.get(parser.at) {
        None => Ok(Some(expr)),
        Some(token) => Err(format!("unexpected '{}' in the filter", token.text())),
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Word(String),
    Str(String),
    Num(f64),
    Sym(&'static str),
}

impl Token {
    fn text(&self) -> String {
        match self {
            Token::Word(w) => w.clone(),
            Token::Str(s) => format!("'{s}'"),
            Token::Num(n) => n.to_string(),
            Token::Sym(s) => (*s).to_owned(),
        }
    }

    fn is_keyword(&self, keyword: &str) -> bool {
        matches!(self, Token::Word(w) if w.eq_ignore_ascii_case(keyword))
    }
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '\'' || c == '"' {
            let end = chars[i + 1..]
                .iter()
                .position(|&d| d == c)
                .ok_or("a string in the filter is not closed")?;
            tokens.push(Token::Str(chars[i + 1..i + 1 + end].iter().collect()));
            i += end + 2;
        } else if let Some(sym) = ["!=", "<=", ">=", "=", "<", ">", "(", ")", ","]
            .into_iter()
            .find(|s| text_at(&chars, i, s))
        {
            tokens.push(Token::Sym(sym));
            i += sym.len();
        } else if c.is_ascii_digit()
            || (c == '-' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
            || c == '.'
        {
            let start = i;
            i += 1;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric() || matches!(chars[i], '.' | '-' | '+'))
            {
                i += 1;
            }
            let number: String = chars[start..i].iter().collect();
            tokens.push(Token::Num(
                number
                    .parse()
                    .map_err(|_| format!("'{number}' is not a number"))?,
            ));
        } else if "=!<>(),".contains(c) {
            return Err(format!("unexpected '{c}' in the filter"));
        } else {
            // An identifier: letters, digits, dots, and `backquoted` parts for keys with spaces.
            let mut word = String::new();
            while i < chars.len() && !chars[i].is_whitespace() && !"=!<>(),'\"".contains(chars[i]) {
                if chars[i] == '`' {
                    let end = chars[i + 1..]
                        .iter()
                        .position(|&d| d == '`')
                        .ok_or("a `quoted` key is not closed")?;
                    word.extend(&chars[i + 1..i + 1 + end]);
                    i += end + 2;
                } else {
                    word.push(chars[i]);
                    i += 1;
                }
            }
            tokens.push(Token::Word(word));
        }
    }
    Ok(tokens)
}

fn text_at(chars: &[char], i: usize, s: &str) -> bool {
    s.chars()
        .enumerate()
        .all(|(k, c)| chars.get(i + k) == Some(&c))
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
    /// Parentheses open at this point.
    depth: usize,
    /// Conditions and IN values read so far.
    terms: usize,
    /// Attributes that may be named without `attributes.`.
    bare: &'static [&'static str],
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Result<Token, String> {
        let token = self
            .tokens
            .get(self.at)
            .cloned()
            .ok_or("the filter ends too early")?;
        self.at += 1;
        Ok(token)
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut terms = vec![self.and()?];
        while self.peek().is_some_and(|t| t.is_keyword("OR")) {
            self.at += 1;
            terms.push(self.and()?);
        }
        Ok(flat(terms, Expr::Or))
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut terms = vec![self.primary()?];
        while self.peek().is_some_and(|t| t.is_keyword("AND")) {
            self.at += 1;
            terms.push(self.primary()?);
        }
        Ok(flat(terms, Expr::And))
    }

    /// Counts one more condition or value against [`MAX_TERMS`].
    fn count(&mut self) -> Result<(), String> {
        self.terms += 1;
        if self.terms > MAX_TERMS {
            return Err(format!(
                "the filter has more than {MAX_TERMS} conditions and IN values"
            ));
        }
        Ok(())
    }

    fn primary(&mut self) -> Result<Expr, String> {
        if self.peek() == Some(&Token::Sym("(")) {
            self.at += 1;
            self.depth += 1;
            if self.depth > MAX_DEPTH {
                return Err(format!(
                    "the filter nests parentheses more than {MAX_DEPTH} deep"
                ));
            }
            let inner = self.or()?;
            if self.next()? != Token::Sym(")") {
                return Err("a '(' in the filter is not closed".into());
            }
            self.depth -= 1;
            return Ok(inner);
        }
        self.count()?;
        let field = match self.next()? {
            Token::Word(word) => field(&word, self.bare)?,
            other => {
                return Err(format!(
                    "expected metrics.KEY, params.KEY, tags.KEY or attributes.NAME, got '{}'",
                    other.text()
                ))
            }
        };
        let negated = self.peek().is_some_and(|t| t.is_keyword("NOT"));
        if negated {
            self.at += 1;
        }
        let op = self.next()?;
        if op.is_keyword("IN") {
            return Ok(Expr::In(field, self.list()?, negated));
        }
        if negated {
            return Err("NOT goes only before IN".into());
        }
        let op = match op {
            Token::Sym("=") => Op::Eq,
            Token::Sym("!=") => Op::Ne,
            Token::Sym("<") => Op::Lt,
            Token::Sym("<=") => Op::Le,
            Token::Sym(">") => Op::Gt,
            Token::Sym(">=") => Op::Ge,
            t if t.is_keyword("LIKE") => Op::Like,
            t if t.is_keyword("ILIKE") => Op::ILike,
            other => return Err(format!("unknown operator '{}'", other.text())),
        };
        let literal = literal(self.next()?)?;
        Ok(Expr::Compare(field, op, literal))
    }

    fn list(&mut self) -> Result<Vec<Literal>, String> {
        if self.next()? != Token::Sym("(") {
            return Err("IN needs a list in parentheses".into());
        }
        self.count()?;
        let mut items = vec![literal(self.next()?)?];
        loop {
            match self.next()? {
                Token::Sym(",") => {
                    self.count()?;
                    items.push(literal(self.next()?)?);
                }
                Token::Sym(")") => return Ok(items),
                other => return Err(format!("unexpected '{}' in an IN list", other.text())),
            }
        }
    }
}

/// One term as itself, several joined by `join`.
fn flat(mut terms: Vec<Expr>, join: fn(Vec<Expr>) -> Expr) -> Expr {
    if terms.len() == 1 {
        terms.remove(0)
    } else {
        join(terms)
    }
}

fn literal(token: Token) -> Result<Literal, String> {
    match token {
        Token::Num(n) => Ok(Literal::Number(n)),
        Token::Str(s) => Ok(Literal::Text(s)),
        other => Err(format!(
            "expected a number or a quoted string, got '{}'",
            other.text()
        )),
    }
}

/// Attributes that may be named without `attributes.`, as MLflow's experiment filters do.
const BARE_ATTRIBUTES: [&str; 3] = ["name", "creation_time", "last_update_time"];

fn field(word: &str, bare: &[&str]) -> Result<Field, String> {
    if bare.contains(&word) {
        return Ok(Field::Attribute(word.to_owned()));
    }
    let (kind, key) = word
        .split_once('.')
        .ok_or_else(|| format!("'{word}' needs a prefix such as metrics. or params."))?;
    if key.is_empty() {
        return Err(format!("'{word}' names no key"));
    }
    Ok(match kind.to_ascii_lowercase().as_str() {
        "metric" | "metrics" => Field::Metric(key.to_owned()),
        "param" | "params" | "parameter" | "parameters" => Field::Param(key.to_owned()),
        "tag" | "tags" => Field::Tag(key.to_owned()),
        "attribute" | "attributes" | "attr" | "run" => Field::Attribute(key.to_owned()),
        other => {
            return Err(format!(
                "unknown entity '{other}': use metrics, params, tags or attributes"
            ))
        }
    })
}

impl Expr {
    /// Whether `run` satisfies the filter; a missing metric, param or tag satisfies nothing.
    /// Recursion goes as deep as the parentheses, at most [`MAX_DEPTH`].
    pub fn matches(&self, run: &RunView, budget: &mut Budget) -> Result<bool, Exhausted> {
        Ok(match self {
            Expr::And(terms) => {
                for term in terms {
                    if !term.matches(run, budget)? {
                        return Ok(false);
                    }
                }
                true
            }
            Expr::Or(terms) => {
                for term in terms {
                    if term.matches(run, budget)? {
                        return Ok(true);
                    }
                }
                false
            }
            Expr::Compare(field, op, literal) => match value_of(field, run) {
                Some(value) => compare(&value, *op, literal, budget)?,
                None => *op == Op::Ne && run.missing_tag_differs && matches!(field, Field::Tag(_)),
            },
            Expr::In(field, list, negated) => match value_of(field, run) {
                Some(value) => {
                    let mut found = false;
                    for item in list {
                        if compare(&value, Op::Eq, item, budget)? {
                            found = true;
                            break;
                        }
                    }
                    found != *negated
                }
                None => false,
            },
        })
    }
}

/// The value `field` has in `run`.
pub fn value_of(field: &Field, run: &RunView) -> Option<Literal> {
    match field {
        Field::Metric(key) => run.metrics.get(key).map(|v| Literal::Number(*v)),
        Field::Param(key) => run.params.get(key).cloned().map(Literal::Text),
        Field::Tag(key) => run.tags.get(key).cloned().map(Literal::Text),
        Field::Attribute(name) => run.attributes.get(name.as_str()).cloned(),
    }
}

fn compare(
    value: &Literal,
    op: Op,
    literal: &Literal,
    budget: &mut Budget,
) -> Result<bool, Exhausted> {
    use std::cmp::Ordering;
    let ordering = match (value, literal) {
        (Literal::Number(a), Literal::Number(b)) => a.partial_cmp(b),
        (Literal::Text(a), Literal::Text(b)) => match op {
            Op::Like => return like(a, b, budget),
            Op::ILike => return like(&a.to_lowercase(), &b.to_lowercase(), budget),
            _ => Some(a.cmp(b)),
        },
        (Literal::Text(a), Literal::Number(b)) => {
            a.parse::<f64>().ok().and_then(|a| a.partial_cmp(b))
        }
        (Literal::Number(_), Literal::Text(_)) => None,
    };
    let Some(ordering) = ordering else {
        return Ok(false);
    };
    Ok(match op {
        Op::Eq => ordering == Ordering::Equal,
        Op::Ne => ordering != Ordering::Equal,
        Op::Lt => ordering == Ordering::Less,
        Op::Le => ordering != Ordering::Greater,
        Op::Gt => ordering == Ordering::Greater,
        Op::Ge => ordering != Ordering::Less,
        Op::Like | Op::ILike => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run() -> RunView {
        let mut run = RunView::default();
        run.metrics.insert("loss".into(), 0.3);
        run.metrics.insert("val acc".into(), 0.9);
        run.params.insert("optimizer".into(), "adam".into());
        run.params.insert("lr".into(), "0.01".into());
        run.tags.insert("stage".into(), "Baseline-2".into());
        run.attributes
            .insert("status", Literal::Text("FINISHED".into()));
        run.attributes.insert("start_time", Literal::Number(1000.0));
        run
    }

    fn holds(filter: &str) -> bool {
        parse(filter)
            .unwrap()
            .unwrap()
            .matches(&run(), &mut Budget::for_search())
            .unwrap()
    }

    #[test]
    fn comparisons_of_every_kind_match_like_mlflow() {
        assert!(holds("metrics.loss < 0.5"));
        assert!(!holds("metrics.loss >= 0.5"));
        assert!(holds("metrics.`val acc` > 0.8"));
        assert!(holds("params.optimizer = 'adam' and params.lr = \"0.01\""));
        assert!(
            holds("params.lr < 0.1"),
            "a numeric param compares with a number"
        );
        assert!(holds("tags.stage LIKE 'Base%'") && !holds("tags.stage LIKE 'base%'"));
        assert!(holds("tags.stage ILIKE 'base%-_'"));
        assert!(holds("attributes.status IN ('FINISHED', 'FAILED')"));
        assert!(holds("attributes.status NOT IN ('FAILED')"));
        assert!(holds("attributes.start_time >= 1000"));
        assert!(
            !holds("metrics.missing < 1"),
            "a missing metric matches nothing"
        );
    }

    #[test]
    fn a_missing_tag_differs_from_every_value_only_where_asked() {
        let filter = parse("tags.`mlflow.prompt.is_prompt` != 'true'")
            .unwrap()
            .unwrap();
        let mut model = run();
        let mut budget = Budget::for_search();
        assert!(
            !filter.matches(&model, &mut budget).unwrap(),
            "runs: no tag, no match"
        );
        model.missing_tag_differs = true;
        assert!(
            filter.matches(&model, &mut budget).unwrap(),
            "registry: no tag differs"
        );
        let equal = parse("tags.missing = 'true'").unwrap().unwrap();
        assert!(!equal.matches(&model, &mut budget).unwrap());
        model
            .tags
            .insert("mlflow.prompt.is_prompt".into(), "true".into());
        assert!(!filter.matches(&model, &mut budget).unwrap());
    }

    #[test]
    fn or_and_parentheses_group_as_in_sql() {
        assert!(holds("metrics.loss > 1 OR params.optimizer = 'adam'"));
        assert!(!holds(
            "(metrics.loss > 1 OR params.optimizer = 'sgd') AND tags.stage LIKE '%'"
        ));
        assert!(
            holds("metrics.loss > 1 AND params.optimizer = 'sgd' OR tags.stage != 'x'"),
            "AND binds tighter"
        );
        assert!(!holds(
            "metrics.loss > 1 AND (params.optimizer = 'sgd' OR tags.stage != 'x')"
        ));
    }

    #[test]
    fn malformed_filters_are_refused_with_a_reason() {
        for bad in [
            "metrics.loss <",
            "loss < 1",
            "metrics.loss ~ 1",
            "(metrics.loss < 1",
            "params.a = 'x",
            "metrics.loss < 1 metrics",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert_eq!(parse("  ").unwrap(), None);
        assert!(
            parse("name LIKE 'x%'").is_ok(),
            "experiment filters name attributes bare"
        );
    }

    #[test]
    fn and_and_or_chains_are_stored_flat() {
        let chain = parse("metrics.a > 1 AND metrics.b > 1 AND metrics.c > 1 OR metrics.d > 1")
            .unwrap()
            .unwrap();
        let Expr::Or(either) = chain else {
            panic!("OR on top: {chain:?}")
        };
        assert_eq!(either.len(), 2);
        assert!(matches!(&either[0], Expr::And(all) if all.len() == 3));
    }

    #[test]
    fn filters_over_the_limits_are_refused_naming_the_limit() {
        let parens = format!(
            "{}metrics.a > 1{}",
            "(".repeat(100_000),
            ")".repeat(100_000)
        );
        let error = parse(&parens).unwrap_err();
        assert!(error.contains("the limit is 20000"), "{error}");

        let deep = |n: usize| format!("{}metrics.a > 1{}", "(".repeat(n), ")".repeat(n));
        assert!(parse(&deep(MAX_DEPTH)).is_ok());
        let error = parse(&deep(MAX_DEPTH + 1)).unwrap_err();
        assert!(error.contains("more than 50 deep"), "{error}");

        let chain = |n: usize| vec!["metrics.a>1"; n].join(" AND ");
        assert!(parse(&chain(MAX_TERMS)).is_ok());
        let error = parse(&chain(MAX_TERMS + 1)).unwrap_err();
        assert!(error.contains("more than 1000 conditions"), "{error}");
        let values = vec!["'x'"; MAX_TERMS].join(",");
        let error = parse(&format!("params.a IN ({values})")).unwrap_err();
        assert!(error.contains("more than 1000 conditions"), "{error}");

        let error = parse(&chain(100_000)).unwrap_err();
        assert!(error.contains("characters; the limit is"), "{error}");
    }

    #[test]
    fn the_longest_chain_allowed_evaluates_and_drops_without_deep_recursion() {
        let chain = vec!["metrics.loss<1"; MAX_TERMS].join(" AND ");
        let filter = parse(&chain).unwrap().unwrap();
        assert_eq!(filter.matches(&run(), &mut Budget::for_search()), Ok(true));
        // Far longer than any parse allows: flat terms cost no stack when matched or dropped.
        let huge = Expr::And(vec![filter; 100]);
        assert_eq!(huge.matches(&run(), &mut Budget::for_search()), Ok(true));
        drop(huge);
    }

    #[test]
    fn a_lone_symbol_is_an_error_not_an_endless_loop() {
        for bad in ["metrics.a ! 1", "!", "metrics.a = 1 AND !"] {
            let error = parse(bad).unwrap_err();
            assert!(error.contains("unexpected '!'"), "{bad}: {error}");
        }
    }

    #[test]
    fn like_work_beyond_the_budget_stops_the_evaluation() {
        let mut run = run();
        run.tags.insert("long".into(), "a".repeat(10_000));
        let filter = parse(&format!("tags.long LIKE '%{}b%'", "a".repeat(1_000)))
            .unwrap()
            .unwrap();
        assert_eq!(
            filter.matches(&run, &mut Budget::new(1_000_000)),
            Err(Exhausted)
        );
    }
}

#[cfg(test)]
mod props;
