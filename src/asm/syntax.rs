//! The shape of an assembly line, GNU as style:
//!
//! ```text
//!   label:  other_label:  mnemonic  operand, operand(reg), "string"   # comment
//! ```
//!
//! Comments start with `#` or `//` (outside strings); `;` separates
//! statements on one line. Operands are split at top-level commas.

/// One statement of a line: its labels, then a mnemonic or directive (if any)
/// with its raw operand texts.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Statement {
    /// Labels defined before the mnemonic (`loop:`, numeric `1:`).
    pub labels: Vec<String>,
    /// The mnemonic or directive, lower-cased (`addi`, `.word`); empty for a
    /// labels-only line.
    pub mnemonic: String,
    /// The operands, trimmed, split at top-level commas.
    pub operands: Vec<String>,
}

/// Removes the comment and splits the line into statements at `;`.
pub fn split_line(line: &str) -> Vec<&str> {
    let bytes = line.as_bytes();
    let mut parts = Vec::new();
    let mut start = 0;
    let mut i = 0;
    let mut in_str = false;
    while i < bytes.len() {
        let c = bytes[i];
        if in_str {
            if c == b'\\' {
                i += 1;
            } else if c == b'"' {
                in_str = false;
            }
        } else if c == b'"' {
            in_str = true;
        } else if c == b'\'' {
            // A character literal: 'c' or '\n'.
            i += if bytes.get(i + 1) == Some(&b'\\') {
                3
            } else {
                2
            };
        } else if c == b'#' || (c == b'/' && bytes.get(i + 1) == Some(&b'/')) {
            break;
        } else if c == b';' {
            parts.push(&line[start..i]);
            start = i + 1;
        }
        i += 1;
    }
    let end = i.min(line.len());
    if start <= end {
        parts.push(&line[start..end]);
    }
    parts
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == '.' || c == '$'
}

/// Whether `c` may continue a symbol name.
pub fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '$'
}

/// Parses one statement (no comment, no `;`).
///
/// Returns an error message for an unterminated string or unbalanced
/// parentheses.
pub fn parse_statement(text: &str) -> Result<Statement, String> {
    let mut st = Statement::default();
    let mut rest = text.trim();
    // Labels: `name:` or `123:` at the front, possibly several.
    loop {
        let name_len = rest
            .char_indices()
            .take_while(|&(i, c)| {
                if i == 0 {
                    is_ident_start(c) || c.is_ascii_digit()
                } else {
                    is_ident_char(c)
                }
            })
            .map(|(i, c)| i + c.len_utf8())
            .last()
            .unwrap_or(0);
        if name_len > 0 && rest[name_len..].trim_start().starts_with(':') {
            let name = &rest[..name_len];
            if name.starts_with(|c: char| c.is_ascii_digit())
                && !name.bytes().all(|b| b.is_ascii_digit())
            {
                return Err(format!("bad label '{name}'"));
            }
            st.labels.push(name.to_string());
            rest = rest[name_len..].trim_start()[1..].trim_start();
        } else {
            break;
        }
    }
    if rest.is_empty() {
        return Ok(st);
    }
    let split = rest.find(|c: char| c.is_whitespace()).unwrap_or(rest.len());
    st.mnemonic = rest[..split].to_ascii_lowercase();
    let ops = rest[split..].trim();
    if !ops.is_empty() {
        st.operands = split_operands(ops)?;
    }
    Ok(st)
}

/// Splits at commas outside parentheses, strings and character literals.
fn split_operands(text: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut cur = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                cur.push(c);
                let mut closed = false;
                while let Some(d) = chars.next() {
                    cur.push(d);
                    if d == '\\' {
                        if let Some(e) = chars.next() {
                            cur.push(e);
                        }
                    } else if d == '"' {
                        closed = true;
                        break;
                    }
                }
                if !closed {
                    return Err("unterminated string".into());
                }
            }
            '\'' => {
                cur.push(c);
                if let Some(d) = chars.next() {
                    cur.push(d);
                    if d == '\\' {
                        if let Some(e) = chars.next() {
                            cur.push(e);
                        }
                    }
                }
                if chars.peek() == Some(&'\'') {
                    cur.push(chars.next().expect("peeked"));
                }
            }
            '(' => {
                depth += 1;
                cur.push(c);
            }
            ')' => {
                depth -= 1;
                if depth < 0 {
                    return Err("unbalanced ')'".into());
                }
                cur.push(c);
            }
            ',' if depth == 0 => out.push(std::mem::take(&mut cur).trim().to_string()),
            _ => cur.push(c),
        }
    }
    if depth != 0 {
        return Err("unbalanced '('".into());
    }
    out.push(cur.trim().to_string());
    if out.iter().any(|o| o.is_empty()) {
        return Err("empty operand".into());
    }
    Ok(out)
}

/// Decodes a double-quoted string literal with C escapes (`\n \t \0 \\ \"
/// \xHH \NNN`).
pub fn parse_string(text: &str) -> Result<Vec<u8>, String> {
    let inner = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .filter(|_| text.len() >= 2)
        .ok_or_else(|| format!("expected a \"string\", found '{text}'"))?;
    let b = inner.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            out.push(b[i]);
            i += 1;
            continue;
        }
        i += 1;
        let Some(&e) = b.get(i) else {
            return Err("string ends with a backslash".into());
        };
        i += 1;
        out.push(match e {
            b'n' => b'\n',
            b't' => b'\t',
            b'r' => b'\r',
            b'a' => 7,
            b'b' => 8,
            b'f' => 12,
            b'v' => 11,
            b'\\' => b'\\',
            b'"' => b'"',
            b'\'' => b'\'',
            b'x' => {
                let start = i;
                while i < b.len() && b[i].is_ascii_hexdigit() {
                    i += 1;
                }
                let digits = &inner[start..i];
                if digits.is_empty() {
                    return Err("\\x without hex digits".into());
                }
                (u64::from_str_radix(digits, 16).map_err(|e| e.to_string())? & 0xff) as u8
            }
            b'0'..=b'7' => {
                let start = i - 1;
                while i < b.len() && i - start < 3 && (b'0'..=b'7').contains(&b[i]) {
                    i += 1;
                }
                (u32::from_str_radix(&inner[start..i], 8).map_err(|e| e.to_string())? & 0xff) as u8
            }
            other => return Err(format!("unknown escape '\\{}'", other as char)),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_mnemonic_and_operands_split() {
        let s = parse_statement("loop: 1: lw a0, 8(s0)").unwrap();
        assert_eq!(s.labels, vec!["loop", "1"]);
        assert_eq!(s.mnemonic, "lw");
        assert_eq!(s.operands, vec!["a0", "8(s0)"]);
    }

    #[test]
    fn comments_and_strings() {
        assert_eq!(split_line("li a0, 1 # one"), vec!["li a0, 1 "]);
        assert_eq!(split_line(".ascii \"a#b\" // c"), vec![".ascii \"a#b\" "]);
        assert_eq!(split_line("nop; nop"), vec!["nop", " nop"]);
        let s = parse_statement(".ascii \"x, y\", \"z\"").unwrap();
        assert_eq!(s.operands.len(), 2);
        assert_eq!(parse_string("\"a\\n\\x41\\101\"").unwrap(), b"a\nAA");
        assert!(parse_string("\"abc").is_err());
    }
}
