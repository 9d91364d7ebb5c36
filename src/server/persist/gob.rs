//! A reader for Go's `encoding/gob` streams: as much of the format as the
//! official Pushgateway's persistence file uses. The stream carries its own
//! type definitions, so values are decoded into a generic [`Value`] tree by
//! the types the stream declares, and [`super::official`] picks the fields it
//! needs out of the tree by name: a file written by another Pushgateway
//! version, with other or reordered fields, still reads.
//!
//! Layout (from the `encoding/gob` documentation): a stream is a series of
//! messages, each an unsigned byte count followed by a signed type id. A
//! negative id defines type `-id` (the message holds a `wireType`); a
//! positive one is a value of that type. A struct is a series of (field
//! number delta, value) pairs ending with a zero delta, and zero-valued
//! fields are left out; a top-level value that is not a struct is preceded
//! by a zero byte. Maps, slices and arrays are a count and their elements;
//! strings and byte slices a count and their bytes. Types that encode
//! themselves (`GobEncoder`, `BinaryMarshaler`, `TextMarshaler`, such as
//! `time.Time`) are a count and opaque bytes. Interface values are not
//! needed here and are refused.

use std::collections::HashMap;

/// A decoded value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    Bytes(Vec<u8>),
    /// A string that is valid UTF-8 (others are [`Value::Bytes`]).
    String(String),
    /// The fields that were sent, by name, in stream order.
    Struct(Vec<(String, Value)>),
    Map(Vec<(Value, Value)>),
    /// A slice or an array.
    List(Vec<Value>),
    /// The bytes of a type that encodes itself.
    Encoded(Vec<u8>),
}

impl Value {
    /// The field `name` of a struct; `None` when it was not sent (zero) or
    /// this is no struct.
    pub(crate) fn field(&self, name: &str) -> Option<&Value> {
        match self {
            Value::Struct(fields) => fields.iter().find(|(n, _)| n == name).map(|(_, v)| v),
            _ => None,
        }
    }

    /// A short name of the kind, for messages.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Uint(_) => "uint",
            Value::Float(_) => "float",
            Value::Bytes(_) => "bytes",
            Value::String(_) => "string",
            Value::Struct(_) => "struct",
            Value::Map(_) => "map",
            Value::List(_) => "list",
            Value::Encoded(_) => "self-encoded value",
        }
    }
}

/// What is wrong with a stream, and at which byte.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at byte {offset}: {what}")]
pub struct GobError {
    pub offset: usize,
    pub(crate) what: String,
}

/// A type as the stream defined it.
#[derive(Debug, Clone)]
enum Type {
    Bool,
    Int,
    Uint,
    Float,
    Bytes,
    String,
    Complex,
    Interface,
    Struct(Vec<(String, i64)>),
    Map(i64, i64),
    List(i64),
    Encoded,
}

/// The ids gob reserves for its basic types.
fn builtin(id: i64) -> Option<Type> {
    Some(match id {
        1 => Type::Bool,
        2 => Type::Int,
        3 => Type::Uint,
        4 => Type::Float,
        5 => Type::Bytes,
        6 => Type::String,
        7 => Type::Complex,
        8 => Type::Interface,
        _ => return None,
    })
}

/// Nesting deeper than this is refused: the Pushgateway's types are a few
/// levels deep, and a crafted file must not overflow the stack.
const MAX_DEPTH: usize = 64;

/// Decodes a stream that holds exactly one value.
pub fn decode(buf: &[u8]) -> Result<Value, GobError> {
    let mut types: HashMap<i64, Type> = (1..=8)
        .filter_map(|id| builtin(id).map(|t| (id, t)))
        .collect();
    let mut outer = Reader { buf, pos: 0 };
    while outer.pos < buf.len() {
        let start = outer.pos;
        let len = outer.uint()?;
        let len = usize::try_from(len)
            .ok()
            .filter(|&l| l <= buf.len() - outer.pos)
            .ok_or_else(|| outer.error(format!("a message of {len} bytes, past the end")))?;
        let end = outer.pos + len;
        let mut msg = Reader {
            buf: &buf[..end],
            pos: outer.pos,
        };
        let id = msg.int()?;
        if id < 0 {
            let def = msg.wire_type()?;
            if -id <= 8 {
                return Err(msg.error(format!("a definition of the basic type {}", -id)));
            }
            types.insert(-id, def);
        } else {
            let mut d = Decoder {
                r: msg,
                types: &types,
            };
            let ty = d.ty(id)?;
            if !matches!(ty, Type::Struct(_)) {
                let zero = d.r.uint()?;
                if zero != 0 {
                    return Err(d
                        .r
                        .error(format!("a top-level value starts with {zero}, not 0")));
                }
            }
            let value = d.value(id, 0)?;
            if d.r.pos != end {
                return Err(d
                    .r
                    .error(format!("{} bytes left in the message", end - d.r.pos)));
            }
            if end != buf.len() {
                return Err(GobError {
                    offset: end,
                    what: format!(
                        "{} bytes after the value (the message at byte {start} holds it)",
                        buf.len() - end
                    ),
                });
            }
            return Ok(value);
        }
        if msg.pos != end {
            return Err(msg.error(format!("{} bytes left in a type definition", end - msg.pos)));
        }
        outer.pos = end;
    }
    Err(GobError {
        offset: buf.len(),
        what: if buf.is_empty() {
            "the stream is empty".into()
        } else {
            "the stream ends before its value (it holds only type definitions)".into()
        },
    })
}

struct Reader<'a> {
    /// Ends where the current message ends.
    buf: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn error(&self, what: String) -> GobError {
        GobError {
            offset: self.pos,
            what,
        }
    }

    fn byte(&mut self) -> Result<u8, GobError> {
        let b = *self
            .buf
            .get(self.pos)
            .ok_or_else(|| self.error("unexpected end of the data".into()))?;
        self.pos += 1;
        Ok(b)
    }

    /// A byte below 128 is the number; otherwise it is minus the count of
    /// big-endian bytes that follow.
    fn uint(&mut self) -> Result<u64, GobError> {
        let first = self.byte()?;
        if first < 0x80 {
            return Ok(u64::from(first));
        }
        let n = (first as i8).unsigned_abs() as usize;
        if n > 8 {
            return Err(self.error(format!("an unsigned number of {n} bytes")));
        }
        let mut v = 0u64;
        for _ in 0..n {
            v = (v << 8) | u64::from(self.byte()?);
        }
        Ok(v)
    }

    /// The sign is the lowest bit; the rest is the magnitude (complemented
    /// when negative).
    fn int(&mut self) -> Result<i64, GobError> {
        let u = self.uint()?;
        let magnitude = (u >> 1) as i64;
        Ok(if u & 1 == 1 { !magnitude } else { magnitude })
    }

    /// A float's bytes are reversed so that small integers encode short.
    fn float(&mut self) -> Result<f64, GobError> {
        Ok(f64::from_bits(self.uint()?.swap_bytes()))
    }

    fn bytes(&mut self) -> Result<&[u8], GobError> {
        let at = self.pos;
        let len = self.uint()?;
        let left = self.buf.len() - self.pos;
        let len = usize::try_from(len)
            .ok()
            .filter(|&l| l <= left)
            .ok_or(GobError {
                offset: at,
                what: format!("{len} bytes announced, {left} left"),
            })?;
        let b = &self.buf[self.pos..self.pos + len];
        self.pos += len;
        Ok(b)
    }

    fn string(&mut self) -> Result<String, GobError> {
        let at = self.pos;
        let b = self.bytes()?;
        String::from_utf8(b.to_vec()).map_err(|_| GobError {
            offset: at,
            what: "a string that is not UTF-8".into(),
        })
    }

    /// A count of elements, each at least one byte long: a count larger
    /// than what is left is damage, not a reason to allocate.
    fn count(&mut self) -> Result<usize, GobError> {
        let at = self.pos;
        let n = self.uint()?;
        let left = self.buf.len() - self.pos;
        usize::try_from(n)
            .ok()
            .filter(|&n| n <= left)
            .ok_or(GobError {
                offset: at,
                what: format!("{n} elements announced, {left} bytes left"),
            })
    }

    /// Reads a struct of the stream's own description types, calling
    /// `field` with each field number sent.
    fn fields(
        &mut self,
        mut field: impl FnMut(&mut Self, usize) -> Result<(), GobError>,
    ) -> Result<(), GobError> {
        let mut number: usize = 0;
        let mut first = true;
        loop {
            let delta = self.uint()? as usize;
            if delta == 0 {
                return Ok(());
            }
            // Field numbers start at -1, so the first delta of 1 is field 0.
            number = if first { delta - 1 } else { number + delta };
            first = false;
            field(self, number)?;
        }
    }

    /// `CommonType{Name string; Id typeId}`: the name.
    fn common(&mut self) -> Result<String, GobError> {
        let mut name = String::new();
        self.fields(|r, f| {
            match f {
                0 => name = r.string()?,
                1 => {
                    r.int()?;
                }
                _ => return Err(r.error(format!("CommonType has no field {f}"))),
            }
            Ok(())
        })?;
        Ok(name)
    }

    /// `wireType{ArrayT; SliceT; StructT; MapT; GobEncoderT;
    /// BinaryMarshalerT; TextMarshalerT}`, exactly one of them sent.
    fn wire_type(&mut self) -> Result<Type, GobError> {
        let mut ty = None;
        self.fields(|r, f| {
            let t = match f {
                // arrayType{CommonType; Elem typeId; Len int}
                0 => {
                    let mut elem = 0;
                    r.fields(|r, f| {
                        match f {
                            0 => drop(r.common()?),
                            1 => elem = r.int()?,
                            2 => drop(r.int()?),
                            _ => return Err(r.error(format!("arrayType has no field {f}"))),
                        }
                        Ok(())
                    })?;
                    Type::List(elem)
                }
                // sliceType{CommonType; Elem typeId}
                1 => {
                    let mut elem = 0;
                    r.fields(|r, f| {
                        match f {
                            0 => drop(r.common()?),
                            1 => elem = r.int()?,
                            _ => return Err(r.error(format!("sliceType has no field {f}"))),
                        }
                        Ok(())
                    })?;
                    Type::List(elem)
                }
                // structType{CommonType; Field []fieldType{Name string; Id typeId}}
                2 => {
                    let mut fields = Vec::new();
                    r.fields(|r, f| {
                        match f {
                            0 => drop(r.common()?),
                            1 => {
                                for _ in 0..r.count()? {
                                    let (mut name, mut id) = (String::new(), 0);
                                    r.fields(|r, f| {
                                        match f {
                                            0 => name = r.string()?,
                                            1 => id = r.int()?,
                                            _ => {
                                                return Err(
                                                    r.error(format!("fieldType has no field {f}"))
                                                )
                                            }
                                        }
                                        Ok(())
                                    })?;
                                    fields.push((name, id));
                                }
                            }
                            _ => return Err(r.error(format!("structType has no field {f}"))),
                        }
                        Ok(())
                    })?;
                    Type::Struct(fields)
                }
                // mapType{CommonType; Key typeId; Elem typeId}
                3 => {
                    let (mut key, mut elem) = (0, 0);
                    r.fields(|r, f| {
                        match f {
                            0 => drop(r.common()?),
                            1 => key = r.int()?,
                            2 => elem = r.int()?,
                            _ => return Err(r.error(format!("mapType has no field {f}"))),
                        }
                        Ok(())
                    })?;
                    Type::Map(key, elem)
                }
                // gobEncoderType{CommonType}, for the three self-encoding kinds.
                4..=6 => {
                    r.fields(|r, f| match f {
                        0 => r.common().map(drop),
                        _ => Err(r.error(format!("gobEncoderType has no field {f}"))),
                    })?;
                    Type::Encoded
                }
                _ => return Err(r.error(format!("wireType has no field {f}"))),
            };
            ty = Some(t);
            Ok(())
        })?;
        ty.ok_or_else(|| self.error("an empty type definition".into()))
    }
}

struct Decoder<'a, 'b> {
    r: Reader<'a>,
    types: &'b HashMap<i64, Type>,
}

impl<'b> Decoder<'_, 'b> {
    fn ty(&self, id: i64) -> Result<&'b Type, GobError> {
        self.types.get(&id).ok_or_else(|| {
            self.r
                .error(format!("type {id} is used before it is defined"))
        })
    }

    fn value(&mut self, id: i64, depth: usize) -> Result<Value, GobError> {
        if depth > MAX_DEPTH {
            return Err(self
                .r
                .error(format!("values nested deeper than {MAX_DEPTH}")));
        }
        Ok(match self.ty(id)? {
            Type::Bool => Value::Bool(self.r.uint()? != 0),
            Type::Int => Value::Int(self.r.int()?),
            Type::Uint => Value::Uint(self.r.uint()?),
            Type::Float => Value::Float(self.r.float()?),
            Type::Complex => Value::List(vec![
                Value::Float(self.r.float()?),
                Value::Float(self.r.float()?),
            ]),
            Type::Bytes => Value::Bytes(self.r.bytes()?.to_vec()),
            // Go strings are bytes; the official server's map keys join the
            // grouping labels with 0xff, which is no UTF-8.
            Type::String => match String::from_utf8(self.r.bytes()?.to_vec()) {
                Ok(s) => Value::String(s),
                Err(e) => Value::Bytes(e.into_bytes()),
            },
            Type::Encoded => Value::Encoded(self.r.bytes()?.to_vec()),
            Type::Interface => {
                return Err(self.r.error("interface values are not supported".into()))
            }
            Type::List(elem) => {
                let n = self.r.count()?;
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(self.value(*elem, depth + 1)?);
                }
                Value::List(items)
            }
            Type::Map(key, elem) => {
                let n = self.r.count()?;
                let mut entries = Vec::with_capacity(n);
                for _ in 0..n {
                    let k = self.value(*key, depth + 1)?;
                    let v = self.value(*elem, depth + 1)?;
                    entries.push((k, v));
                }
                Value::Map(entries)
            }
            Type::Struct(fields) => {
                let mut values = Vec::new();
                let mut number: i64 = -1;
                loop {
                    let at = self.r.pos;
                    let delta = self.r.uint()?;
                    if delta == 0 {
                        break;
                    }
                    number = number.saturating_add(i64::try_from(delta).unwrap_or(i64::MAX));
                    let (name, fid) = usize::try_from(number)
                        .ok()
                        .and_then(|i| fields.get(i))
                        .ok_or(GobError {
                            offset: at,
                            what: format!(
                                "field {number} of a struct that has {} fields",
                                fields.len()
                            ),
                        })?;
                    let v = self.value(*fid, depth + 1)?;
                    values.push((name.clone(), v));
                }
                Value::Struct(values)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// gob's unsigned encoding, for building streams by hand.
    fn uint(out: &mut Vec<u8>, v: u64) {
        if v < 0x80 {
            out.push(v as u8);
            return;
        }
        let bytes = v.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push((-((8 - skip) as i8)) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }

    fn int(out: &mut Vec<u8>, v: i64) {
        let u = if v < 0 {
            ((!v as u64) << 1) | 1
        } else {
            (v as u64) << 1
        };
        uint(out, u);
    }

    fn string(out: &mut Vec<u8>, s: &str) {
        uint(out, s.len() as u64);
        out.extend_from_slice(s.as_bytes());
    }

    fn message(out: &mut Vec<u8>, body: &[u8]) {
        uint(out, body.len() as u64);
        out.extend_from_slice(body);
    }

    /// Defines type 65 as `struct{A string; B map[string]float64; C []int}`
    /// (the map as type 66, the slice as 67) and sends one value of it.
    fn struct_stream(b: &[u8]) -> Vec<u8> {
        let mut s = Vec::new();
        // type 66: map[string]float64
        let mut m = Vec::new();
        int(&mut m, -66);
        m.extend([4, 1, 1]); // MapT, CommonType, Name
        string(&mut m, "M");
        m.extend([0, 1]); // end CommonType, Key
        int(&mut m, 6);
        m.push(1); // Elem
        int(&mut m, 4);
        m.extend([0, 0]);
        message(&mut s, &m);
        // type 67: []int
        let mut l = Vec::new();
        int(&mut l, -67);
        l.extend([2, 1, 1]); // SliceT, CommonType, Name
        string(&mut l, "L");
        l.extend([0, 1]);
        int(&mut l, 2);
        l.extend([0, 0]);
        message(&mut s, &l);
        // type 65: the struct
        let mut t = Vec::new();
        int(&mut t, -65);
        t.extend([3, 1, 1]); // StructT, CommonType, Name
        string(&mut t, "T");
        t.extend([0, 1, 3]); // end CommonType, Field, 3 fields
        for (name, id) in [("A", 6), ("B", 66), ("C", 67)] {
            t.push(1);
            string(&mut t, name);
            t.push(1);
            int(&mut t, id);
            t.push(0);
        }
        t.extend([0, 0]);
        message(&mut s, &t);
        message(&mut s, b);
        s
    }

    #[test]
    fn numbers_decode_as_gob_encodes_them() {
        let cases: [(&[u8], u64); 4] = [
            (&[0x07], 7),
            (&[0xff, 0x80], 128),
            (&[0xfe, 0x01, 0x00], 256),
            (&[0xf8, 1, 2, 3, 4, 5, 6, 7, 8], 0x0102_0304_0506_0708),
        ];
        for (bytes, want) in cases {
            let mut r = Reader { buf: bytes, pos: 0 };
            assert_eq!(r.uint().unwrap(), want, "{bytes:?}");
        }
        for v in [0i64, 1, -1, 63, -64, 1000, i64::MIN, i64::MAX] {
            let mut b = Vec::new();
            int(&mut b, v);
            assert_eq!(Reader { buf: &b, pos: 0 }.int().unwrap(), v);
        }
        // 17.0 is 0x4031000000000000; reversed, it is two bytes long.
        let mut r = Reader {
            buf: &[0xfe, 0x31, 0x40],
            pos: 0,
        };
        assert_eq!(r.float().unwrap(), 17.0);
    }

    #[test]
    fn a_struct_with_a_map_and_a_slice_decodes_by_field_name() {
        let mut v = Vec::new();
        int(&mut v, 65);
        v.push(1); // A
        string(&mut v, "hello");
        v.push(1); // B
        v.push(1);
        string(&mut v, "x");
        uint(&mut v, 17f64.to_bits().swap_bytes());
        v.push(1); // C
        v.push(2);
        int(&mut v, -3);
        int(&mut v, 300);
        v.push(0);
        let value = decode(&struct_stream(&v)).unwrap();
        assert_eq!(value.field("A"), Some(&Value::String("hello".into())));
        assert_eq!(
            value.field("B"),
            Some(&Value::Map(vec![(
                Value::String("x".into()),
                Value::Float(17.0)
            )]))
        );
        assert_eq!(
            value.field("C"),
            Some(&Value::List(vec![Value::Int(-3), Value::Int(300)]))
        );
    }

    #[test]
    fn zero_fields_are_left_out_and_a_delta_skips_them() {
        let mut v = Vec::new();
        int(&mut v, 65);
        v.push(3); // straight to C
        v.push(1);
        int(&mut v, 9);
        v.push(0);
        let value = decode(&struct_stream(&v)).unwrap();
        assert_eq!(value.field("A"), None);
        assert_eq!(value.field("C"), Some(&Value::List(vec![Value::Int(9)])));
    }

    #[test]
    fn a_top_level_map_is_preceded_by_a_zero() {
        let mut s = struct_stream(&[]);
        // Drop the empty value message struct_stream added.
        s.pop();
        let mut v = Vec::new();
        int(&mut v, 66);
        v.push(0);
        v.push(1);
        string(&mut v, "k");
        uint(&mut v, 0);
        message(&mut s, &v);
        assert_eq!(
            decode(&s).unwrap(),
            Value::Map(vec![(Value::String("k".into()), Value::Float(0.0))])
        );
    }

    #[test]
    fn damage_is_refused_with_its_offset() {
        let mut v = Vec::new();
        int(&mut v, 65);
        v.push(1);
        string(&mut v, "hello");
        v.push(0);
        let good = struct_stream(&v);
        assert!(decode(&good).is_ok());

        let cut = &good[..good.len() - 3];
        let e = decode(cut).unwrap_err();
        assert!(e.what.contains("past the end"), "{e}");

        let mut extra = good.clone();
        extra.push(0);
        let e = decode(&extra).unwrap_err();
        assert_eq!(e.offset, good.len());

        // Field 4 of a three-field struct.
        let mut bad = Vec::new();
        int(&mut bad, 65);
        bad.extend([4, 0]);
        let e = decode(&struct_stream(&bad)).unwrap_err();
        assert!(
            e.what.contains("field 3 of a struct that has 3 fields"),
            "{e}"
        );

        let mut undefined = Vec::new();
        message(&mut undefined, &[0xff, 0xc8, 0]);
        let e = decode(&undefined).unwrap_err();
        assert!(e.what.contains("type 100 is used before"), "{e}");

        assert!(decode(b"").unwrap_err().what.contains("empty"));
        assert!(decode(b"hello world, not gob").is_err());
    }

    proptest::proptest! {
        /// A cut and a flipped bit anywhere, or bytes of any kind: an
        /// answer, never a panic or a runaway allocation.
        #[test]
        fn damaged_streams_never_panic(
            cut in 0.0f64..=1.0,
            at in 0.0f64..1.0,
            bit in 0u8..8,
            noise in proptest::collection::vec(proptest::num::u8::ANY, 0..64),
        ) {
            let mut v = Vec::new();
            int(&mut v, 65);
            v.push(1);
            string(&mut v, "hello");
            v.extend([1, 1]);
            string(&mut v, "x");
            uint(&mut v, 17f64.to_bits().swap_bytes());
            v.extend([1, 1]);
            int(&mut v, 5);
            v.push(0);
            let good = struct_stream(&v);
            let mut bytes = good[..(good.len() as f64 * cut) as usize].to_vec();
            if !bytes.is_empty() {
                let i = ((bytes.len() as f64 * at) as usize).min(bytes.len() - 1);
                bytes[i] ^= 1 << bit;
            }
            let _ = decode(&bytes);
            let _ = decode(&noise);
        }
    }

    #[test]
    fn a_huge_count_is_damage_not_an_allocation() {
        let mut v = Vec::new();
        int(&mut v, 65);
        v.push(3);
        uint(&mut v, u64::MAX >> 1);
        let e = decode(&struct_stream(&v)).unwrap_err();
        assert!(e.what.contains("elements announced"), "{e}");
    }
}
