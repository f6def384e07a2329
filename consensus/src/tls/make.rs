//! `reflex cluster certs`: a cluster CA, a certificate per member and one
//! for the operator's tools (rcgen, ECDSA P-256).

use super::{MEMBERS_NAME, OPERATOR_NAME, TlsError, member_name};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};
use storage::NodeId;

/// The CA's subject: fixed, so that the CA can be loaded again from its
/// key to sign the certificate of a member added later.
const CA_NAME: &str = "Reflex cluster CA";
/// How long a CA is valid.
const CA_YEARS: u64 = 10;
/// How long a member's or operator's certificate is valid.
const LEAF_YEARS: u64 = 2;

fn ca_params() -> Result<CertificateParams, rcgen::Error> {
    let mut p = CertificateParams::new(Vec::<String>::new())?;
    p.distinguished_name.push(DnType::CommonName, CA_NAME);
    p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    valid_for(&mut p, CA_YEARS);
    Ok(p)
}

/// From a day ago (clocks differ a little) for `years`.
fn valid_for(p: &mut CertificateParams, years: u64) {
    let day = Duration::from_secs(86_400);
    let now = SystemTime::now();
    let from = now.checked_sub(day).unwrap_or(now);
    let to = now + day * (365 * years as u32);
    p.not_before = from.into();
    p.not_after = to.into();
}

fn write(path: &Path, text: &str, secret: bool) -> Result<(), TlsError> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(if secret { 0o600 } else { 0o644 });
    }
    let mut f = options.open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => TlsError::Exists(path.to_path_buf()),
        _ => TlsError::Read(path.to_path_buf(), e),
    })?;
    f.write_all(text.as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(|e| TlsError::Read(path.to_path_buf(), e))
}

/// Makes, in `dir`, `ca.pem` and `ca.key` (unless there: then the CA is
/// loaded from them), `member-N.pem` and `member-N.key` for each of
/// `members`, and `operator.pem` and `operator.key` if `operator`.
/// Refuses to overwrite a file. Keys are written mode 0600. Returns the
/// files written.
pub fn make_certificates(
    dir: &Path,
    members: &[NodeId],
    operator: bool,
) -> Result<Vec<PathBuf>, TlsError> {
    std::fs::create_dir_all(dir).map_err(|e| TlsError::Read(dir.to_path_buf(), e))?;
    let mut written = Vec::new();
    let (ca_pem, ca_key) = (dir.join("ca.pem"), dir.join("ca.key"));
    let ca = if ca_key.exists() {
        let pem =
            std::fs::read_to_string(&ca_key).map_err(|e| TlsError::Read(ca_key.clone(), e))?;
        let key = KeyPair::from_pem(&pem)?;
        Issuer::new(ca_params()?, key)
    } else {
        let key = KeyPair::generate()?;
        let params = ca_params()?;
        let cert = params.self_signed(&key)?;
        write(&ca_key, &key.serialize_pem(), true)?;
        write(&ca_pem, &cert.pem(), false)?;
        written.extend([ca_pem, ca_key]);
        Issuer::new(params, key)
    };
    let mut leaves: Vec<(String, Vec<String>, Vec<ExtendedKeyUsagePurpose>)> = members
        .iter()
        .map(|id| {
            (
                format!("member-{id}"),
                vec![member_name(*id), MEMBERS_NAME.to_string()],
                vec![
                    ExtendedKeyUsagePurpose::ServerAuth,
                    ExtendedKeyUsagePurpose::ClientAuth,
                ],
            )
        })
        .collect();
    if operator {
        leaves.push((
            "operator".into(),
            vec![OPERATOR_NAME.to_string()],
            vec![ExtendedKeyUsagePurpose::ClientAuth],
        ));
    }
    for (file, names, usages) in leaves {
        let mut params = CertificateParams::new(names)?;
        params.distinguished_name.push(DnType::CommonName, &file);
        params.extended_key_usages = usages;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        valid_for(&mut params, LEAF_YEARS);
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &ca)?;
        let (pem, key_file) = (
            dir.join(format!("{file}.pem")),
            dir.join(format!("{file}.key")),
        );
        write(&key_file, &key.serialize_pem(), true)?;
        write(&pem, &cert.pem(), false)?;
        written.extend([pem, key_file]);
    }
    Ok(written)
}
