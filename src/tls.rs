//! What the client's and the server's rustls certificate verifiers share.
//! rustls asks every verifier (`ServerCertVerifier` on the client side,
//! `ClientCertVerifier` on the server side) for the same three handshake
//! signature checks, and pgw's verifiers only differ in how they judge the
//! certificate itself (`--insecure` accepts any; `client_allowed_sans` adds
//! a name check), so the signature checks are written once, here.

/// Inside an `impl ServerCertVerifier` or `impl ClientCertVerifier` block:
/// `verify_tls12_signature`, `verify_tls13_signature` and
/// `supported_verify_schemes`, made with the type's field `$algorithms`
/// (the crypto provider's `WebPkiSupportedAlgorithms`), as rustls' own
/// WebPKI verifiers make them.
macro_rules! signature_checks {
    ($algorithms:ident) => {
        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &rustls::pki_types::CertificateDer<'_>,
            dss: &rustls::DigitallySignedStruct,
        ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls12_signature(message, cert, dss, &self.$algorithms)
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &rustls::pki_types::CertificateDer<'_>,
            dss: &rustls::DigitallySignedStruct,
        ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls13_signature(message, cert, dss, &self.$algorithms)
        }

        fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
            self.$algorithms.supported_schemes()
        }
    };
}

pub(crate) use signature_checks;
