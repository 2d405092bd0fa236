//! Binary traces: little-endian u64 addresses (`bin`, 8-byte records), or a
//! u64 address followed by a u8 kind (`bin-kind`, 9-byte records; kind 0 is
//! a read, 1 a write, 2 a fetch).
//!
//! A trace whose length is not a multiple of the record size is refused,
//! naming the trailing bytes; a record with an unknown kind byte is
//! malformed (named by its byte offset).

use super::batch::Accesses;
use super::format::{BATCH, BadInput, Decoder, Location, Malformed};
use crate::mmu::Access;

/// The kind byte of a `bin-kind` record for `access`.
pub const fn kind_byte(access: Access) -> u8 {
    match access {
        Access::Read => 0,
        Access::Write => 1,
        Access::Fetch => 2,
    }
}

/// The `bin-kind` record of a reference: the address, little-endian, then
/// the kind byte. Its first 8 bytes are the `bin` record.
pub fn kind_record(addr: u64, access: Access) -> [u8; 9] {
    let mut r = [0u8; 9];
    r[..8].copy_from_slice(&addr.to_le_bytes());
    r[8] = kind_byte(access);
    r
}

/// The access a `bin-kind` kind byte names.
#[inline(always)]
pub const fn kind_of_byte(b: u8) -> Option<Access> {
    match b {
        0 => Some(Access::Read),
        1 => Some(Access::Write),
        2 => Some(Access::Fetch),
        _ => None,
    }
}

/// The error for `rest`, the incomplete record at byte `offset`.
pub fn trailing_bytes(offset: u64, rest: &[u8], record: usize) -> Malformed {
    let hex: Vec<String> = rest.iter().map(|b| format!("{b:02x}")).collect();
    Malformed {
        at: Location::Offset(offset),
        content: hex.join(" "),
        why: if record == 8 {
            "trailing bytes: the length is not a multiple of the 8-byte record size"
        } else {
            "trailing bytes: the length is not a multiple of the 9-byte record size"
        },
    }
}

/// References in a batch taken straight from an aligned `bin` buffer
/// (128 KiB of addresses: a cache-friendly slice of the mapped file).
const MAPPED_BATCH: usize = 8 * BATCH;

/// Decodes `bin` traces: every address takes the same access.
pub struct BinDecoder {
    access: Access,
    offset: u64,
    vas: Vec<u64>,
}

impl BinDecoder {
    /// A decoder whose references all have kind `access`.
    pub fn new(access: Access) -> Self {
        Self {
            access,
            offset: 0,
            vas: vec![0; BATCH],
        }
    }
}

impl Decoder for BinDecoder {
    fn decode<E>(
        &mut self,
        b: &[u8],
        _bad: &mut BadInput,
        emit: &mut impl FnMut(&[u64], Accesses<'_>) -> Result<(), E>,
    ) -> Result<(), E>
    where
        E: From<Malformed>,
    {
        let whole = b.len() / 8 * 8;
        for block in b[..whole].chunks(MAPPED_BATCH * 8) {
            // On a little-endian machine an aligned block already is the
            // addresses (a mapped file is page-aligned): no copy at all,
            // and batches larger than a decoded one, so that the batch
            // loops' set-up and folding are paid less often.
            #[cfg(target_endian = "little")]
            if let Ok(vas) = bytemuck::try_cast_slice::<u8, u64>(block) {
                emit(vas, Accesses::Uniform(self.access))?;
                continue;
            }
            for block in block.chunks(BATCH * 8) {
                let n = block.len() / 8;
                for (va, bytes) in self.vas.iter_mut().zip(block.chunks_exact(8)) {
                    *va = u64::from_le_bytes(bytes.try_into().expect("8 bytes"));
                }
                emit(&self.vas[..n], Accesses::Uniform(self.access))?;
            }
        }
        self.offset += whole as u64;
        if whole < b.len() {
            return Err(trailing_bytes(self.offset, &b[whole..], 8).into());
        }
        Ok(())
    }
}

/// Decodes `bin-kind` traces.
pub struct BinKindDecoder {
    offset: u64,
    vas: Vec<u64>,
    kinds: Vec<Access>,
}

impl Default for BinKindDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl BinKindDecoder {
    /// A decoder at byte offset 0.
    pub fn new() -> Self {
        Self {
            offset: 0,
            vas: vec![0; BATCH],
            kinds: vec![Access::Read; BATCH],
        }
    }
}

impl Decoder for BinKindDecoder {
    fn decode<E>(
        &mut self,
        b: &[u8],
        bad: &mut BadInput,
        emit: &mut impl FnMut(&[u64], Accesses<'_>) -> Result<(), E>,
    ) -> Result<(), E>
    where
        E: From<Malformed>,
    {
        let whole = b.len() / 9 * 9;
        let mut n = 0;
        for (r, rec) in b[..whole].chunks_exact(9).enumerate() {
            let va = u64::from_le_bytes(rec[..8].try_into().expect("8 bytes"));
            match kind_of_byte(rec[8]) {
                Some(access) => {
                    self.vas[n] = va;
                    self.kinds[n] = access;
                    n += 1;
                    if n == BATCH {
                        emit(&self.vas, Accesses::Each(&self.kinds))?;
                        n = 0;
                    }
                }
                None => bad.report(
                    Location::Offset(self.offset + r as u64 * 9),
                    format!("kind byte {}", rec[8]).as_bytes(),
                    "unknown kind byte (0 read, 1 write, 2 fetch)",
                )?,
            }
        }
        if n > 0 {
            emit(&self.vas[..n], Accesses::Each(&self.kinds[..n]))?;
        }
        self.offset += whole as u64;
        if whole < b.len() {
            return Err(trailing_bytes(self.offset, &b[whole..], 9).into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run<D: Decoder>(d: &mut D, b: &[u8]) -> Result<Vec<(u64, Access)>, Malformed> {
        let mut got = Vec::new();
        d.decode(b, &mut BadInput::default(), &mut |vas, acc| {
            for (i, &va) in vas.iter().enumerate() {
                got.push((va, acc.kind(i)));
            }
            Ok::<(), Malformed>(())
        })?;
        Ok(got)
    }

    #[test]
    fn bin_records_are_little_endian_u64() {
        let mut b = 0x1122u64.to_le_bytes().to_vec();
        b.extend(u64::MAX.to_le_bytes());
        let got = run(&mut BinDecoder::new(Access::Write), &b).unwrap();
        assert_eq!(
            got,
            vec![(0x1122, Access::Write), (u64::MAX, Access::Write)]
        );
    }

    #[test]
    fn bin_trailing_bytes_are_named_with_their_offset() {
        let mut b = 7u64.to_le_bytes().to_vec();
        b.extend([0xab, 0xcd, 0xef]);
        let e = run(&mut BinDecoder::new(Access::Read), &b).unwrap_err();
        assert_eq!(e.at, Location::Offset(8));
        assert_eq!(e.content, "ab cd ef");
    }

    #[test]
    fn bin_kind_records_carry_their_access_and_bad_kinds_are_skipped() {
        let mut b = Vec::new();
        for (va, k) in [(1u64, 0u8), (2, 1), (3, 2), (4, 9)] {
            b.extend(va.to_le_bytes());
            b.push(k);
        }
        let mut d = BinKindDecoder::new();
        let mut bad = BadInput::default();
        let mut got = Vec::new();
        d.decode(&b, &mut bad, &mut |vas, acc| {
            let Accesses::Each(k) = acc else {
                unreachable!()
            };
            got.extend(vas.iter().copied().zip(k.iter().copied()));
            Ok::<(), Malformed>(())
        })
        .unwrap();
        assert_eq!(
            got,
            vec![(1, Access::Read), (2, Access::Write), (3, Access::Fetch)]
        );
        assert_eq!(bad.count, 1);
        assert_eq!(bad.first.unwrap().at, Location::Offset(27));
    }
}
