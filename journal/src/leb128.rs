//! LEB128 integers and length-prefixed strings: the encoding of every event field.

use super::error::DecodeError;

/// The longest ULEB128/SLEB128 encoding of a 64-bit value.
const MAX_LEB_BYTES: usize = 10;

/// Appends `v` as unsigned LEB128.
#[inline]
pub(crate) fn write_uleb(out: &mut Vec<u8>, mut v: u64) {
    // The common case in the hot path (small counts, short deltas) is one or two bytes.
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Appends `v` as signed LEB128.
#[inline]
pub(crate) fn write_sleb(out: &mut Vec<u8>, mut v: i64) {
    loop {
        let byte = (v as u8) & 0x7f;
        v >>= 7;
        let done = (v == 0 && byte & 0x40 == 0) || (v == -1 && byte & 0x40 != 0);
        if done {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Appends a string as ULEB128 byte length followed by its UTF-8 bytes.
pub(crate) fn write_str(out: &mut Vec<u8>, s: &str) {
    write_uleb(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// Reads fields from a byte slice; every read is bounds-checked so no input can panic it.
#[derive(Debug, Clone)]
pub(crate) struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Cursor { bytes, pos: 0 }
    }

    /// Bytes consumed so far.
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    pub(crate) fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.pos)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, DecodeError> {
        let b = *self.bytes.get(self.pos).ok_or(DecodeError::UnexpectedEnd)?;
        self.pos += 1;
        Ok(b)
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if n > self.remaining() {
            return Err(DecodeError::UnexpectedEnd);
        }
        let s = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    pub(crate) fn uleb(&mut self) -> Result<u64, DecodeError> {
        let mut v = 0u64;
        for i in 0..MAX_LEB_BYTES {
            let b = self.u8()?;
            // The tenth byte may only carry the top bit of a u64.
            if i == MAX_LEB_BYTES - 1 && b > 1 {
                return Err(DecodeError::LebOverflow);
            }
            v |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(DecodeError::LebOverflow)
    }

    pub(crate) fn sleb(&mut self) -> Result<i64, DecodeError> {
        let mut v = 0i64;
        for i in 0..MAX_LEB_BYTES {
            let b = self.u8()?;
            let shift = 7 * i as u32;
            if i == MAX_LEB_BYTES - 1 {
                // Only 0x00 (positive) or 0x7f (negative) carry the last bit without overflow.
                if b != 0x00 && b != 0x7f {
                    return Err(DecodeError::LebOverflow);
                }
            }
            v |= i64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                if shift + 7 < 64 && b & 0x40 != 0 {
                    v |= -1i64 << (shift + 7);
                }
                return Ok(v);
            }
        }
        Err(DecodeError::LebOverflow)
    }

    /// A ULEB128 that must fit in a `u32`.
    pub(crate) fn uleb_u32(&mut self) -> Result<u32, DecodeError> {
        u32::try_from(self.uleb()?).map_err(|_| DecodeError::OutOfRange)
    }

    pub(crate) fn str(&mut self) -> Result<String, DecodeError> {
        let len = self.uleb()?;
        // Check against what is left before converting, so a huge length cannot allocate.
        let len = usize::try_from(len).map_err(|_| DecodeError::UnexpectedEnd)?;
        let bytes = self.take(len)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| DecodeError::BadUtf8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_encodings() {
        let mut out = Vec::new();
        write_uleb(&mut out, 624_485);
        assert_eq!(out, [0xe5, 0x8e, 0x26]);
        out.clear();
        write_sleb(&mut out, -123_456);
        assert_eq!(out, [0xc0, 0xbb, 0x78]);
        out.clear();
        write_uleb(&mut out, u64::MAX);
        assert_eq!(out.len(), MAX_LEB_BYTES);
    }

    #[test]
    fn overlong_is_rejected() {
        let bytes = [0xff; 11];
        assert_eq!(Cursor::new(&bytes).uleb(), Err(DecodeError::LebOverflow));
        assert_eq!(Cursor::new(&bytes).sleb(), Err(DecodeError::LebOverflow));
        assert_eq!(Cursor::new(&[0x80]).uleb(), Err(DecodeError::UnexpectedEnd));
    }

    proptest! {
        #[test]
        fn uleb_round_trip(v: u64) {
            let mut out = Vec::new();
            write_uleb(&mut out, v);
            let mut c = Cursor::new(&out);
            prop_assert_eq!(c.uleb(), Ok(v));
            prop_assert!(c.is_empty());
        }

        #[test]
        fn sleb_round_trip(v: i64) {
            let mut out = Vec::new();
            write_sleb(&mut out, v);
            let mut c = Cursor::new(&out);
            prop_assert_eq!(c.sleb(), Ok(v));
            prop_assert!(c.is_empty());
        }

        #[test]
        fn str_round_trip(s in ".{0,40}") {
            let mut out = Vec::new();
            write_str(&mut out, &s);
            prop_assert_eq!(Cursor::new(&out).str(), Ok(s));
        }
    }
}
