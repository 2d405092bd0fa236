//! The access-list language of scenarios, at the slides' level:
//! `load 100`, `store 3072`, `store 0x208 = 7`, `fetch 0x10`, `sbrk 40`,
//! `getpid`, `write hello`, `exit 0`, `yield`, `syscall 12 40`,
//! `set-base 0`, `set-bounds 16k`, `set-mode kernel`.
//!
//! Under static relocation the loader rewrites every address of the list
//! (the list is the program, its addresses absolute); `*ADDR` marks an
//! address computed at run time, which the loader cannot see.

use crate::addr::parse_number;
use crate::mmu::Access;

/// One operation of a process.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Op {
    /// A memory access.
    Access {
        /// Fetch, read or write.
        access: Access,
        /// The virtual address.
        va: u64,
        /// The value stored (default: the pid).
        value: Option<u64>,
        /// Computed at run time (not rewritten by the static loader).
        raw: bool,
        /// Bytes accessed (default 1; `load.w` 4, `load.d` 8).
        size: u64,
    },
    /// sbrk(delta).
    Sbrk(i64),
    /// getpid().
    Getpid,
    /// write(1, text).
    Write(String),
    /// exit(status).
    Exit(u64),
    /// yield().
    Yield,
    /// A raw system call by number.
    Syscall(u64, Vec<u64>),
    /// A user-mode attempt to write the base register.
    SetBase(u64),
    /// A user-mode attempt to write the bounds register.
    SetBounds(u64),
    /// A user-mode attempt to set the mode bit to kernel.
    SetMode,
}

fn number(word: &str, what: &str) -> Result<u64, String> {
    parse_number(word).map_err(|e| format!("{what}: {e}"))
}

fn signed(word: &str) -> Result<i64, String> {
    let (neg, digits) = match word.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, word),
    };
    let n = number(digits, "sbrk amount")?;
    let n = i64::try_from(n).map_err(|_| format!("sbrk amount {word} is too large"))?;
    Ok(if neg { -n } else { n })
}

impl Op {
    /// Parses one access-list entry; the error names what is wrong.
    pub fn parse(text: &str) -> Result<Op, String> {
        let text = text.trim();
        let (verb, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
        let rest = rest.trim();
        let (verb, size) = match verb.split_once('.') {
            Some((v, "b")) => (v, 1),
            Some((v, "h")) => (v, 2),
            Some((v, "w")) => (v, 4),
            Some((v, "d")) => (v, 8),
            Some((_, s)) => return Err(format!("unknown access size '.{s}' (use .b .h .w .d)")),
            None => (verb, 1),
        };
        let need = |what: &str| {
            if rest.is_empty() {
                Err(format!("'{verb}' needs {what}"))
            } else {
                Ok(())
            }
        };
        Ok(match verb.to_ascii_lowercase().as_str() {
            "load" | "store" | "fetch" | "read" => {
                need("an address")?;
                let access: Access = verb.parse()?;
                let (addr, value) = match rest.split_once('=') {
                    Some((a, v)) => (a.trim(), Some(number(v.trim(), "stored value")?)),
                    None => (rest, None),
                };
                if value.is_some() && access != Access::Write {
                    return Err(format!("only a store takes a value: '{text}'"));
                }
                let (raw, addr) = match addr.strip_prefix('*') {
                    Some(a) => (true, a),
                    None => (false, addr),
                };
                Op::Access {
                    access,
                    va: number(addr, "address")?,
                    value,
                    raw,
                    size,
                }
            }
            "sbrk" => {
                need("an amount")?;
                Op::Sbrk(signed(rest)?)
            }
            "getpid" => Op::Getpid,
            "write" => Op::Write(rest.to_string()),
            "exit" => Op::Exit(if rest.is_empty() {
                0
            } else {
                number(rest, "exit status")?
            }),
            "yield" => Op::Yield,
            "syscall" => {
                need("a number")?;
                let mut words = rest.split_whitespace();
                let n = number(words.next().unwrap_or(""), "system-call number")?;
                let args = words
                    .map(|w| number(w, "system-call argument"))
                    .collect::<Result<Vec<_>, _>>()?;
                if args.len() > 3 {
                    return Err("at most 3 system-call arguments".into());
                }
                Op::Syscall(n, args)
            }
            "set-base" => {
                need("a value")?;
                Op::SetBase(number(rest, "base")?)
            }
            "set-bounds" => {
                need("a value")?;
                Op::SetBounds(number(rest, "bounds")?)
            }
            "set-mode" => {
                if !rest.eq_ignore_ascii_case("kernel") {
                    return Err("set-mode takes 'kernel'".into());
                }
                Op::SetMode
            }
            _ => {
                return Err(format!(
                    "unknown operation '{verb}' (expected load, store, fetch, sbrk, getpid, write, exit, yield, syscall, set-base, set-bounds, set-mode)"
                ));
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slide_accesses_parse() {
        assert_eq!(
            Op::parse("store 3072").unwrap(),
            Op::Access {
                access: Access::Write,
                va: 3072,
                value: None,
                raw: false,
                size: 1
            }
        );
        assert_eq!(
            Op::parse("load.w 0x208").unwrap(),
            Op::Access {
                access: Access::Read,
                va: 0x208,
                value: None,
                raw: false,
                size: 4
            }
        );
        assert_eq!(Op::parse("sbrk -40").unwrap(), Op::Sbrk(-40));
        assert!(matches!(
            Op::parse("store *0x3010 = 9").unwrap(),
            Op::Access {
                raw: true,
                value: Some(9),
                ..
            }
        ));
    }

    #[test]
    fn bad_entries_say_what_is_wrong() {
        assert!(
            Op::parse("lod 100")
                .unwrap_err()
                .contains("unknown operation 'lod'")
        );
        assert!(Op::parse("load 16q").unwrap_err().contains("address"));
        assert!(Op::parse("load").unwrap_err().contains("needs an address"));
        assert!(
            Op::parse("load 1 = 2")
                .unwrap_err()
                .contains("only a store")
        );
    }
}
