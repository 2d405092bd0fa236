//! Constant and address expressions: numbers (`42`, `0x2a`, `0b101`,
//! `'a'`), symbols, numeric local label references (`1f`, `1b`), `.` (the
//! current address), unary `- ~ +`, binary `* / % + - << >> & ^ |` with C
//! precedence, and parentheses.
//!
//! A value remembers how many addresses it contains (`label + 4` has one,
//! `end - start` none), so the assembler knows which values must be listed as
//! relocations and refuses nonsense such as `label * 2`.

use super::syntax::is_ident_char;

/// The value of an expression.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Value {
    /// The number (an address when `labels == 1`).
    pub value: i64,
    /// Net count of section addresses in it: 0 constant, 1 an address.
    pub labels: i32,
    /// The (last) symbol an address refers to, for relocation records.
    pub symbol: Option<String>,
}

impl Value {
    /// A constant.
    pub fn constant(value: i64) -> Self {
        Self {
            value,
            labels: 0,
            symbol: None,
        }
    }

    /// An address of a label.
    pub fn address(value: i64, symbol: Option<String>) -> Self {
        Self {
            value,
            labels: 1,
            symbol,
        }
    }

    /// Whether this is a plain address (relocatable).
    pub fn is_address(&self) -> bool {
        self.labels == 1
    }
}

/// What an expression can refer to.
pub trait Env {
    /// The value of a symbol (a label's address or an `.equ` constant).
    fn symbol(&self, name: &str) -> Result<Value, String>;
    /// The address of numeric label `n`, the next one (`forward`) or the
    /// previous one.
    fn numeric(&self, n: u64, forward: bool) -> Result<Value, String>;
    /// The current address (`.`).
    fn dot(&self) -> Value;
}

#[derive(Clone, PartialEq, Debug)]
enum Tok {
    Num(i64),
    Sym(String),
    Local(u64, bool),
    Op(&'static str),
    Open,
    Close,
}

fn tokenize(text: &str) -> Result<Vec<Tok>, String> {
    let b = text.as_bytes();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i] as char;
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() {
            let start = i;
            while i < b.len() && (b[i] as char).is_ascii_alphanumeric() {
                i += 1;
            }
            let word = &text[start..i];
            toks.push(number_or_local(word)?);
        } else if c == '\'' {
            // Character constant.
            let rest = &text[i + 1..];
            let (ch, len) = if let Some(r) = rest.strip_prefix('\\') {
                let e = r.chars().next().ok_or("bad character constant")?;
                let v = match e {
                    'n' => b'\n',
                    't' => b'\t',
                    'r' => b'\r',
                    '0' => 0,
                    '\\' => b'\\',
                    '\'' => b'\'',
                    '"' => b'"',
                    _ => return Err(format!("unknown escape '\\{e}'")),
                };
                (v as i64, 2)
            } else {
                let ch = rest.chars().next().ok_or("bad character constant")?;
                (ch as i64, ch.len_utf8())
            };
            i += 1 + len;
            if b.get(i) == Some(&b'\'') {
                i += 1;
            }
            toks.push(Tok::Num(ch));
        } else if c.is_ascii_alphabetic() || c == '_' || c == '.' || c == '$' {
            let start = i;
            while i < b.len() && is_ident_char(b[i] as char) {
                i += 1;
            }
            let word = &text[start..i];
            toks.push(if word == "." {
                Tok::Sym(".".into())
            } else {
                Tok::Sym(word.into())
            });
        } else {
            let two = text.get(i..i + 2).unwrap_or("");
            let op: &'static str = match two {
                "<<" => "<<",
                ">>" => ">>",
                _ => match c {
                    '+' => "+",
                    '-' => "-",
                    '*' => "*",
                    '/' => "/",
                    '%' => "%",
                    '&' => "&",
                    '|' => "|",
                    '^' => "^",
                    '~' => "~",
                    '(' => {
                        toks.push(Tok::Open);
                        i += 1;
                        continue;
                    }
                    ')' => {
                        toks.push(Tok::Close);
                        i += 1;
                        continue;
                    }
                    _ => return Err(format!("unexpected '{c}' in expression '{text}'")),
                },
            };
            i += op.len();
            toks.push(Tok::Op(op));
        }
    }
    Ok(toks)
}

fn number_or_local(word: &str) -> Result<Tok, String> {
    let lower = word.to_ascii_lowercase();
    let bad = || format!("bad number '{word}'");
    let parsed = if let Some(h) = lower.strip_prefix("0x") {
        u64::from_str_radix(h, 16)
    } else if let Some(bn) = lower.strip_prefix("0b") {
        u64::from_str_radix(bn, 2)
    } else if lower.len() > 1
        && (lower.ends_with('f') || lower.ends_with('b'))
        && lower[..lower.len() - 1].bytes().all(|c| c.is_ascii_digit())
    {
        let n = lower[..lower.len() - 1].parse::<u64>().map_err(|_| bad())?;
        return Ok(Tok::Local(n, lower.ends_with('f')));
    } else if lower.len() > 1 && lower.starts_with('0') {
        u64::from_str_radix(&lower[1..], 8)
    } else {
        lower.parse::<u64>()
    };
    parsed.map(|v| Tok::Num(v as i64)).map_err(|_| bad())
}

/// How deeply parentheses and unary operators may nest in one expression.
/// The parser recurses once per level, so without a limit a line such as
/// `.word ((((...` 20 000 levels deep would overflow the stack.
pub const MAX_NESTING: usize = 256;

struct Parser<'a> {
    toks: Vec<Tok>,
    pos: usize,
    env: &'a dyn Env,
    /// Parentheses and unary operators open around the current token.
    depth: usize,
}

fn binary_precedence(op: &str) -> Option<u8> {
    Some(match op {
        "*" | "/" | "%" => 5,
        "+" | "-" => 4,
        "<<" | ">>" => 3,
        "&" => 2,
        "^" => 1,
        "|" => 0,
        _ => return None,
    })
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn primary(&mut self) -> Result<Value, String> {
        let tok = self
            .toks
            .get(self.pos)
            .cloned()
            .ok_or("expression ends too early")?;
        self.pos += 1;
        // '(' and unary operators recurse: one more level, refused beyond
        // the limit.
        let nests = matches!(tok, Tok::Open | Tok::Op(_));
        if nests && self.depth >= MAX_NESTING {
            return Err(format!(
                "expression nested more than {MAX_NESTING} levels deep (parentheses and unary operators)"
            ));
        }
        self.depth += usize::from(nests);
        let v = self.operand(tok);
        self.depth -= usize::from(nests);
        v
    }

    /// The operand that starts with `tok` (already consumed).
    fn operand(&mut self, tok: Tok) -> Result<Value, String> {
        match tok {
            Tok::Num(n) => Ok(Value::constant(n)),
            Tok::Sym(s) if s == "." => Ok(self.env.dot()),
            Tok::Sym(s) => self.env.symbol(&s),
            Tok::Local(n, fwd) => self.env.numeric(n, fwd),
            Tok::Open => {
                let v = self.expr(0)?;
                if self.peek() != Some(&Tok::Close) {
                    return Err("missing ')'".into());
                }
                self.pos += 1;
                Ok(v)
            }
            Tok::Op(op @ ("-" | "~" | "+")) => {
                let v = self.primary()?;
                if v.labels != 0 && op != "+" {
                    return Err(format!("cannot apply '{op}' to an address"));
                }
                Ok(Value::constant(match op {
                    "-" => v.value.wrapping_neg(),
                    "~" => !v.value,
                    _ => return Ok(v),
                }))
            }
            Tok::Close => Err("unexpected ')'".into()),
            Tok::Op(op) => Err(format!("unexpected '{op}'")),
        }
    }

    fn expr(&mut self, min: u8) -> Result<Value, String> {
        let mut lhs = self.primary()?;
        while let Some(Tok::Op(op)) = self.peek() {
            let op = *op;
            let Some(prec) = binary_precedence(op) else {
                break;
            };
            if prec < min {
                break;
            }
            self.pos += 1;
            let rhs = self.expr(prec + 1)?;
            lhs = apply(op, lhs, rhs)?;
        }
        Ok(lhs)
    }
}

/// `x op y` in 64 bits, read as signed or as unsigned numbers (`-1` and
/// `0xffffffffffffffff` are the same bits): the result when one reading
/// holds it, else an error naming the operation; nothing wraps.
fn checked(
    op: &str,
    x: i64,
    y: i64,
    signed: fn(i64, i64) -> Option<i64>,
    unsigned: fn(u64, u64) -> Option<u64>,
) -> Result<i64, String> {
    signed(x, y)
        .or_else(|| unsigned(x as u64, y as u64).map(|v| v as i64))
        .ok_or_else(|| format!("{x} {op} {y} does not fit 64 bits"))
}

/// `x << y` or `x >> y`: the count must be 0..=63, and a left shift must
/// not push out a set bit (of the signed or the unsigned reading).
fn shift(op: &str, x: i64, y: i64) -> Result<i64, String> {
    let count = u32::try_from(y)
        .ok()
        .filter(|&c| c < 64)
        .ok_or_else(|| format!("shift count {y} is out of range (0..=63)"))?;
    if op == ">>" {
        return Ok(x >> count);
    }
    let v = x << count;
    if v >> count == x || ((v as u64) >> count) == x as u64 {
        Ok(v)
    } else {
        Err(format!("{x} << {y} does not fit 64 bits"))
    }
}

fn apply(op: &str, a: Value, b: Value) -> Result<Value, String> {
    let (x, y) = (a.value, b.value);
    match op {
        "+" => Ok(Value {
            value: checked("+", x, y, i64::checked_add, u64::checked_add)?,
            labels: a.labels + b.labels,
            symbol: a.symbol.or(b.symbol),
        }),
        "-" => Ok(Value {
            value: checked("-", x, y, i64::checked_sub, u64::checked_sub)?,
            labels: a.labels - b.labels,
            symbol: if a.labels - b.labels == 1 {
                a.symbol
            } else {
                None
            },
        }),
        _ => {
            if a.labels != 0 || b.labels != 0 {
                return Err(format!("cannot apply '{op}' to an address"));
            }
            let v = match op {
                "*" => checked("*", x, y, i64::checked_mul, u64::checked_mul)?,
                "/" | "%" if y == 0 => return Err("division by zero".into()),
                "/" => x
                    .checked_div(y)
                    .ok_or_else(|| format!("{x} / {y} does not fit 64 bits"))?,
                "%" => x.checked_rem(y).unwrap_or(0),
                "<<" | ">>" => shift(op, x, y)?,
                "&" => x & y,
                "^" => x ^ y,
                _ => x | y,
            };
            Ok(Value::constant(v))
        }
    }
}

/// Evaluates `text` against `env`.
///
/// Returns a message naming what is wrong (unknown symbol, bad number,
/// unbalanced parentheses, arithmetic on addresses).
pub fn eval(text: &str, env: &dyn Env) -> Result<Value, String> {
    let toks = tokenize(text)?;
    if toks.is_empty() {
        return Err("empty expression".into());
    }
    let mut p = Parser {
        toks,
        pos: 0,
        env,
        depth: 0,
    };
    let v = p.expr(0)?;
    if p.pos != p.toks.len() {
        return Err(format!("unexpected text in expression '{text}'"));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct E;
    impl Env for E {
        fn symbol(&self, name: &str) -> Result<Value, String> {
            match name {
                "start" => Ok(Value::address(0x100, Some("start".into()))),
                "end" => Ok(Value::address(0x140, Some("end".into()))),
                "N" => Ok(Value::constant(10)),
                _ => Err(format!("undefined symbol '{name}'")),
            }
        }
        fn numeric(&self, n: u64, forward: bool) -> Result<Value, String> {
            Ok(Value::address(
                if forward { 0x200 + n as i64 } else { 0 },
                None,
            ))
        }
        fn dot(&self) -> Value {
            Value::address(0x120, None)
        }
    }

    #[test]
    fn precedence_and_numbers() {
        assert_eq!(eval("1 + 2 * 3", &E).unwrap().value, 7);
        assert_eq!(eval("(1 + 2) * 3", &E).unwrap().value, 9);
        assert_eq!(eval("0x10 | 0b1 | 010", &E).unwrap().value, 0x19);
        assert_eq!(eval("-1", &E).unwrap().value, -1);
        assert_eq!(eval("'a'", &E).unwrap().value, 97);
        assert_eq!(eval("1 << N", &E).unwrap().value, 1024);
    }

    #[test]
    fn addresses_are_tracked() {
        assert!(eval("start + 4", &E).unwrap().is_address());
        let d = eval("end - start", &E).unwrap();
        assert_eq!((d.value, d.labels), (0x40, 0));
        assert!(eval("start * 2", &E).is_err());
        assert_eq!(eval("1f", &E).unwrap().value, 0x201);
        assert!(eval("nothing", &E).unwrap_err().contains("undefined"));
        assert!(eval("1 +", &E).is_err());
        assert!(eval("12q", &E).is_err());
    }

    #[test]
    fn deep_nesting_is_refused_not_a_stack_overflow() {
        let ok = format!("{}1{}", "(".repeat(MAX_NESTING), ")".repeat(MAX_NESTING));
        assert_eq!(eval(&ok, &E).unwrap().value, 1);
        let deep = format!("{}1{}", "(".repeat(20_000), ")".repeat(20_000));
        assert!(eval(&deep, &E).unwrap_err().contains("nested more than"));
        let minus = format!("{}1", "-".repeat(50_000));
        assert!(eval(&minus, &E).unwrap_err().contains("nested more than"));
        assert_eq!(
            eval(&format!("{}1", "-".repeat(MAX_NESTING)), &E)
                .unwrap()
                .value,
            1
        );
    }
}
