//! CPython-compatible random numbers, so that `-s 42` gives the same homework
//! problem as the OSTEP simulators.
//!
//! This is MT19937 with CPython 3's integer seeding (`init_by_array` over the
//! 32-bit words of `|seed|`, least significant first) and its 53-bit
//! `random()`, as specified in `shared/spec/pyrandom.md`; plus the integer
//! helpers (`getrandbits`, `randbelow`, `randrange`, `randint`, `choice`).

const N: usize = 624;
const M: usize = 397;
const MATRIX_A: u32 = 0x9908_b0df;
const UPPER_MASK: u32 = 0x8000_0000;
const LOWER_MASK: u32 = 0x7fff_ffff;

/// CPython's `random.Random`.
#[derive(Clone)]
pub struct PyRandom {
    mt: [u32; N],
    index: usize,
}

impl std::fmt::Debug for PyRandom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PyRandom {{ index: {} }}", self.index)
    }
}

impl PyRandom {
    /// `random.seed(seed)` for an integer seed (the sign is dropped, as in
    /// CPython).
    pub fn new(seed: i128) -> Self {
        let mut magnitude = seed.unsigned_abs();
        let mut words = Vec::new();
        loop {
            words.push(magnitude as u32);
            magnitude >>= 32;
            if magnitude == 0 {
                break;
            }
        }
        Self::from_words(&words)
    }

    /// `random.seed(n)` for an integer of any size written in decimal, with
    /// an optional sign.
    ///
    /// Returns an error naming the text when it is not a whole number.
    pub fn from_decimal(text: &str) -> Result<Self, String> {
        let t = text.trim();
        let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("'{text}' is not a whole number"));
        }
        // Repeated division of the decimal digits by 2^32 gives the words.
        let mut number: Vec<u32> = digits.bytes().map(|b| u32::from(b - b'0')).collect();
        let mut words = Vec::new();
        while !(number.is_empty() || number.iter().all(|&d| d == 0)) {
            let mut remainder: u64 = 0;
            let mut quotient = Vec::with_capacity(number.len());
            for &d in &number {
                let cur = remainder * 10 + u64::from(d);
                let q = cur >> 32;
                remainder = cur & 0xffff_ffff;
                if !(quotient.is_empty() && q == 0) {
                    quotient.push(q as u32);
                }
            }
            words.push(remainder as u32);
            number = quotient;
        }
        if words.is_empty() {
            words.push(0);
        }
        Ok(Self::from_words(&words))
    }

    /// Seeds with `init_by_array(key)`.
    fn from_words(key: &[u32]) -> Self {
        let mut r = Self::init_genrand(19_650_218);
        let mt = &mut r.mt;
        let (mut i, mut j) = (1usize, 0usize);
        for _ in 0..N.max(key.len()) {
            let prev = mt[i - 1] ^ (mt[i - 1] >> 30);
            mt[i] = (mt[i] ^ prev.wrapping_mul(1_664_525))
                .wrapping_add(key[j])
                .wrapping_add(j as u32);
            i += 1;
            j += 1;
            if i >= N {
                mt[0] = mt[N - 1];
                i = 1;
            }
            if j >= key.len() {
                j = 0;
            }
        }
        for _ in 0..N - 1 {
            let prev = mt[i - 1] ^ (mt[i - 1] >> 30);
            mt[i] = (mt[i] ^ prev.wrapping_mul(1_566_083_941)).wrapping_sub(i as u32);
            i += 1;
            if i >= N {
                mt[0] = mt[N - 1];
                i = 1;
            }
        }
        mt[0] = 0x8000_0000;
        r
    }

    fn init_genrand(seed: u32) -> Self {
        let mut mt = [0u32; N];
        mt[0] = seed;
        for i in 1..N {
            mt[i] = 1_812_433_253u32
                .wrapping_mul(mt[i - 1] ^ (mt[i - 1] >> 30))
                .wrapping_add(i as u32);
        }
        Self { mt, index: N }
    }

    fn regenerate(&mut self) {
        let mt = &mut self.mt;
        for k in 0..N {
            let y = (mt[k] & UPPER_MASK) | (mt[(k + 1) % N] & LOWER_MASK);
            let mag = if y & 1 == 1 { MATRIX_A } else { 0 };
            mt[k] = mt[(k + M) % N] ^ (y >> 1) ^ mag;
        }
        self.index = 0;
    }

    /// The next 32-bit output of MT19937.
    pub fn next_u32(&mut self) -> u32 {
        if self.index >= N {
            self.regenerate();
        }
        let mut y = self.mt[self.index];
        self.index += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^= y >> 18;
        y
    }

    /// `random.random()`: a double in [0, 1) with 53 random bits.
    pub fn random(&mut self) -> f64 {
        let a = self.next_u32() >> 5;
        let b = self.next_u32() >> 6;
        (f64::from(a) * 67_108_864.0 + f64::from(b)) * (1.0 / 9_007_199_254_740_992.0)
    }

    /// `random.getrandbits(k)` for `k <= 64` (0 gives 0).
    pub fn getrandbits(&mut self, k: u32) -> u64 {
        match k {
            0 => 0,
            1..=32 => u64::from(self.next_u32() >> (32 - k)),
            _ => {
                let k = k.min(64);
                let low = u64::from(self.next_u32());
                let high = u64::from(self.next_u32() >> (64 - k));
                low | (high << 32)
            }
        }
    }

    /// `random._randbelow(n)` for `n >= 1`: uniform in `[0, n)`. `n = 0`
    /// gives 0 (CPython would raise; callers never pass it).
    pub fn randbelow(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        let k = 64 - n.leading_zeros();
        loop {
            let r = self.getrandbits(k);
            if r < n {
                return r;
            }
        }
    }

    /// `random.randrange(a, b)`: uniform in `[a, b)`; `None` when empty.
    pub fn randrange(&mut self, a: i64, b: i64) -> Option<i64> {
        let width = b.checked_sub(a).filter(|w| *w > 0)?;
        Some(a + self.randbelow(width as u64) as i64)
    }

    /// `random.randint(a, b)`: uniform in `[a, b]`; `None` when empty.
    pub fn randint(&mut self, a: i64, b: i64) -> Option<i64> {
        self.randrange(a, b.checked_add(1)?)
    }

    /// `random.choice(seq)`; `None` for an empty slice.
    pub fn choice<'a, T>(&mut self, seq: &'a [T]) -> Option<&'a T> {
        if seq.is_empty() {
            return None;
        }
        seq.get(self.randbelow(seq.len() as u64) as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses C99 hex float notation like `0x1.b0580f98a7dbep-1`.
    fn hexf(s: &str) -> f64 {
        let s = s.strip_prefix("0x1.").unwrap();
        let (mant, exp) = s.split_once('p').unwrap();
        let frac = u64::from_str_radix(mant, 16).unwrap() as f64 / 16f64.powi(mant.len() as i32);
        (1.0 + frac) * 2f64.powi(exp.parse().unwrap())
    }

    const TABLE: &[(&str, [&str; 5], [u32; 3])] = &[
        (
            "0",
            [
                "0x1.b0580f98a7dbep-1",
                "0x1.84129978f9c1ap-1",
                "0x1.aeaa51052e978p-2",
                "0x1.092178fb945a6p-2",
                "0x1.05c5ccdf19707p-1",
            ],
            [3626764237, 1654615998, 3255389356],
        ),
        (
            "1",
            [
                "0x1.132d8f91b7584p-3",
                "0x1.b1e2d5b3584f8p-1",
                "0x1.870d778409f13p-1",
                "0x1.0530d08f17f5cp-2",
                "0x1.fb5355e16737ap-2",
            ],
            [577090037, 2444712010, 3639700191],
        ),
        (
            "42",
            [
                "0x1.4762f307200c5p-1",
                "0x1.99c6b5eeb2060p-6",
                "0x1.19a1491f589dcp-2",
                "0x1.c922b623b8c1cp-3",
                "0x1.7912c1468f47ep-1",
            ],
            [2746317213, 478163327, 107420369],
        ),
        (
            "12345",
            [
                "0x1.aa9e665dc8a18p-2",
                "0x1.4d392d1f6f840p-7",
                "0x1.a68177b361de3p-1",
                "0x1.31cea56d752c4p-2",
                "0x1.7940e9f744b88p-2",
            ],
            [1789368711, 3146859322, 43676229],
        ),
        (
            "4294967301",
            [
                "0x1.4218067c49768p-3",
                "0x1.21442cf1e9172p-2",
                "0x1.357affb575f81p-1",
                "0x1.dbe785ae59e00p-7",
                "0x1.416bcbcaf6e4cp-1",
            ],
            [675479763, 2085189291, 1213270837],
        ),
        (
            "-7",
            [
                "0x1.4b9ad0f953a6ep-2",
                "0x1.34f0696513270p-3",
                "0x1.4d474883171ffp-1",
                "0x1.28b2f3a47e100p-4",
                "0x1.125f2046063a0p-1",
            ],
            [1390851128, 4071050724, 647892279],
        ),
        (
            "100000000000000000000",
            [
                "0x1.2a1b7b9d00f40p-6",
                "0x1.155faa297c136p-1",
                "0x1.2cff6adbf3813p-1",
                "0x1.6bc71a70d4227p-1",
                "0x1.8c5e467a20323p-1",
            ],
            [78147056, 1939873431, 2326779150],
        ),
    ];

    #[test]
    fn matches_cpython_reference_values() {
        for (seed, randoms, bits) in TABLE {
            let mut r = PyRandom::from_decimal(seed).unwrap();
            for hex in randoms {
                assert_eq!(r.random(), hexf(hex), "seed {seed}");
            }
            let mut r = PyRandom::from_decimal(seed).unwrap();
            for b in bits {
                assert_eq!(r.getrandbits(32), u64::from(*b), "seed {seed}");
            }
        }
    }

    #[test]
    fn integer_and_decimal_seeding_agree() {
        for s in [0i128, 1, 42, -7, 4294967301, 100000000000000000000] {
            let mut a = PyRandom::new(s);
            let mut b = PyRandom::from_decimal(&s.to_string()).unwrap();
            assert_eq!(a.random(), b.random());
        }
    }

    #[test]
    fn seed_zero_in_decimal_repr() {
        let mut r = PyRandom::new(0);
        assert_eq!(r.random(), 0.8444218515250481);
        assert_eq!(r.random(), 0.7579544029403025);
        assert_eq!(r.random(), 0.420571580830845);
    }

    #[test]
    fn randint_and_choice_match_cpython() {
        let mut r = PyRandom::new(5);
        let dice: Vec<i64> = (0..6).map(|_| r.randint(1, 6).unwrap()).collect();
        assert_eq!(dice, [5, 3, 6, 3, 6, 6]);
        let digits: Vec<i32> = (0..10).collect();
        let picks: Vec<i32> = (0..3).map(|_| *r.choice(&digits).unwrap()).collect();
        assert_eq!(picks, [8, 0, 7]);
    }

    #[test]
    fn bad_seed_text_is_an_error() {
        assert!(PyRandom::from_decimal("12a").is_err());
        assert!(PyRandom::from_decimal("").is_err());
    }
}
