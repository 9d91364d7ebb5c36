//! The subject alternative names of an X.509 certificate, read straight
//! from its DER: what `client_allowed_sans` compares against. webpki reads
//! DNS names and checks IP addresses, but gives no access to the e-mail and
//! URI names that upstream matches too, and a full X.509 parser would be a
//! large dependency for one extension.
//!
//! The reader is defensive: the certificate may come from a client that was
//! not verified (`RequestClientCert`, `RequireAnyClientCert`), so any
//! malformed or unexpected structure gives `None` rather than a guess.

use std::net::IpAddr;

/// One subject alternative name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum San {
    Dns(String),
    Email(String),
    Uri(String),
    Ip(IpAddr),
}

/// `id-ce-subjectAltName`, 2.5.29.17, as DER content bytes.
const SAN_OID: &[u8] = &[0x55, 0x1d, 0x11];

/// Every subject alternative name of `cert`; empty when it has none.
/// `None` when the DER cannot be read.
pub(crate) fn subject_alt_names(cert: &[u8]) -> Option<Vec<San>> {
    let (tag, certificate, _) = element(cert)?;
    expect(tag, 0x30)?;
    let (tag, tbs, _) = element(certificate)?;
    expect(tag, 0x30)?;
    // tbsCertificate: [0] version, serial, signature, issuer, validity,
    // subject, subjectPublicKeyInfo, [1] issuerUID, [2] subjectUID,
    // [3] extensions: the extensions are the one field tagged [3].
    let mut rest = tbs;
    while !rest.is_empty() {
        let (tag, content, after) = element(rest)?;
        rest = after;
        if tag == 0xa3 {
            return extensions(content);
        }
    }
    Some(Vec::new())
}

fn extensions(explicit: &[u8]) -> Option<Vec<San>> {
    let (tag, mut list, _) = element(explicit)?;
    expect(tag, 0x30)?;
    while !list.is_empty() {
        let (tag, extension, after) = element(list)?;
        list = after;
        expect(tag, 0x30)?;
        let (tag, oid, mut fields) = element(extension)?;
        expect(tag, 0x06)?;
        if oid != SAN_OID {
            continue;
        }
        // An optional `critical` BOOLEAN, then the OCTET STRING.
        let (mut tag, mut value, after) = element(fields)?;
        if tag == 0x01 {
            fields = after;
            (tag, value, _) = element(fields)?;
        }
        expect(tag, 0x04)?;
        return general_names(value);
    }
    Some(Vec::new())
}

fn general_names(der: &[u8]) -> Option<Vec<San>> {
    let (tag, mut names, _) = element(der)?;
    expect(tag, 0x30)?;
    let mut out = Vec::new();
    while !names.is_empty() {
        let (tag, value, after) = element(names)?;
        names = after;
        let text = || std::str::from_utf8(value).ok().map(str::to_string);
        // Context-specific, primitive: [1] rfc822Name, [2] dNSName,
        // [6] uniformResourceIdentifier, [7] iPAddress; the others (other
        // names, directory names) are not compared by upstream either.
        match tag {
            0x81 => out.push(San::Email(text()?)),
            0x82 => out.push(San::Dns(text()?)),
            0x86 => out.push(San::Uri(text()?)),
            0x87 => out.push(San::Ip(match value.len() {
                4 => IpAddr::from(<[u8; 4]>::try_from(value).ok()?),
                16 => IpAddr::from(<[u8; 16]>::try_from(value).ok()?),
                _ => return None,
            })),
            _ => {}
        }
    }
    Some(out)
}

fn expect(tag: u8, want: u8) -> Option<()> {
    (tag == want).then_some(())
}

/// One DER element at the start of `der`: (tag, content, what follows).
/// Single-byte tags and definite lengths only, which is all DER allows for
/// the structures read here.
fn element(der: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = der.split_first()?;
    if tag & 0x1f == 0x1f {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::SanType;

    fn cert(sans: Vec<SanType>) -> Vec<u8> {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.subject_alt_names = sans;
        params.self_signed(&key).unwrap().der().to_vec()
    }

    #[test]
    fn every_kind_is_read_in_order() {
        let der = cert(vec![
            SanType::DnsName("client.example".try_into().unwrap()),
            SanType::Rfc822Name("ops@example.org".try_into().unwrap()),
            SanType::URI("spiffe://cluster/ns/default/sa/cron".try_into().unwrap()),
            SanType::IpAddress("10.0.0.1".parse().unwrap()),
            SanType::IpAddress("2001:db8::1".parse().unwrap()),
        ]);
        assert_eq!(
            subject_alt_names(&der).unwrap(),
            [
                San::Dns("client.example".into()),
                San::Email("ops@example.org".into()),
                San::Uri("spiffe://cluster/ns/default/sa/cron".into()),
                San::Ip("10.0.0.1".parse().unwrap()),
                San::Ip("2001:db8::1".parse().unwrap()),
            ]
        );
    }

    #[test]
    fn a_certificate_without_the_extension_has_none() {
        assert_eq!(subject_alt_names(&cert(vec![])).unwrap(), []);
    }

    #[test]
    fn malformed_der_is_refused_not_guessed() {
        let der = cert(vec![SanType::DnsName("a.example".try_into().unwrap())]);
        assert_eq!(subject_alt_names(&[]), None);
        assert_eq!(subject_alt_names(b"not a certificate"), None);
        // The outer length no longer fits: every truncation is refused.
        for n in 0..der.len() {
            assert_eq!(subject_alt_names(&der[..n]), None, "{n} bytes");
        }
    }
}
