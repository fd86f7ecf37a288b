//! `aws ec2 get-subnet-cidr-reservations` (spec/real-inputs.md §5).

use serde::Deserialize;
use serde_json::{Map, Value};

use super::{ImportError, from_item};
use crate::subnet::{Ipv4Cidr, ReservationKind};

/// One IPv4 reservation of the export.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportedReservation {
    /// `SubnetCidrReservationId`.
    pub id: String,
    /// `SubnetId`.
    pub subnet: String,
    /// `Cidr`.
    pub cidr: Ipv4Cidr,
    /// `ReservationType`.
    pub kind: ReservationKind,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Raw {
    #[serde(default)]
    subnet_cidr_reservation_id: String,
    #[serde(default)]
    subnet_id: String,
    cidr: String,
    reservation_type: String,
}

/// The reservations of one file (IPv6 reservations are ignored).
pub fn read(obj: &Map<String, Value>, file: &str) -> Result<Vec<ExportedReservation>, ImportError> {
    let list = obj
        .get("SubnetIpv4CidrReservations")
        .and_then(Value::as_array);
    let mut out = Vec::new();
    for (i, item) in list.into_iter().flatten().enumerate() {
        let r: Raw = from_item(item, file, &format!("SubnetIpv4CidrReservations[{i}]"))?;
        let bad = |message: String| ImportError::Invalid {
            file: file.to_string(),
            message: format!(
                "reservation {} ({}): {message}",
                r.cidr, r.subnet_cidr_reservation_id
            ),
        };
        let kind = match r.reservation_type.as_str() {
            "prefix" => ReservationKind::Prefix,
            "explicit" => ReservationKind::Explicit,
            other => {
                return Err(bad(format!(
                    "ReservationType {other:?} is neither prefix nor explicit"
                )));
            }
        };
        let cidr = Ipv4Cidr::parse_block(&r.cidr).map_err(|e| bad(e.to_string()))?;
        out.push(ExportedReservation {
            id: r.subnet_cidr_reservation_id,
            subnet: r.subnet_id,
            cidr,
            kind,
        });
    }
    Ok(out)
}
