//! The CSV files of a run (DESIGN.md §5): `summary.csv`, `nodes.csv`, `timeseries.csv`,
//! `ec2_calls.csv` and `pod_waits.csv`; and `sweep.csv` and `events.csv`, written by their
//! own modules through [`Writer`] too.
//!
//! Every file goes through the `csv` crate's serializer (`csv::Writer::serialize`), one row
//! struct per file. The struct *is* the column list: its fields, in declaration order, name
//! the columns (the contract order), stated once; [`columns`] reads them back for tests and
//! for `sweep.csv`'s header.
//!
//! Numbers are written exactly and locale-free: integers as integers, times as seconds with
//! up to three decimals and no trailing zeros (`1.5`, `2`, `0.125`), the same formatter as
//! [`crate::time::seconds`] — the row structs' `f64` fields say so with
//! `#[serde(serialize_with = "…")]` ([`ser_secs`], [`ser_opt_secs`]). An absent value
//! (`first_insufficient_cidr_s` when no `InsufficientCidrBlocks` happened) is an empty field.
//! Fields are quoted only when they contain a comma, quote or line break (RFC 4180, the
//! crate's `QuoteStyle::Necessary`); lines end with `\n`.

use serde::Serialize;

use super::{Ec2Row, NodeRow, PodWait, Sample, SubnetRow, SubnetSample, Summary};

/// A CSV writer with this project's settings: no automatic header (the header is written
/// from [`columns`], so a file without rows still has one), `\n` line ends. In memory by
/// default; `events.csv` streams to a file.
pub struct Writer<W: std::io::Write = Vec<u8>>(::csv::Writer<W>);

impl Writer {
    /// An in-memory writer whose first line is `header`.
    pub fn with_header<I, S>(header: I) -> Writer
    where
        I: IntoIterator<Item = S>,
        S: AsRef<[u8]>,
    {
        Writer::into_writer(Vec::new(), header).expect("writing to memory")
    }

    /// An in-memory writer whose header is the columns of `T`.
    pub fn for_rows<T: Serialize + Default>() -> Writer {
        Writer::with_header(columns::<T>())
    }

    /// The text written.
    pub fn finish(self) -> String {
        let bytes = self.0.into_inner().expect("writing to memory");
        String::from_utf8(bytes).expect("fields are UTF-8")
    }
}

impl<W: std::io::Write> Writer<W> {
    /// A writer into `out` whose first line is `header`.
    pub fn into_writer<I, S>(out: W, header: I) -> std::io::Result<Writer<W>>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<[u8]>,
    {
        let mut w = ::csv::WriterBuilder::new()
            .has_headers(false)
            .terminator(::csv::Terminator::Any(b'\n'))
            .from_writer(out);
        w.write_record(header)?;
        Ok(Writer(w))
    }

    /// Appends one row (a row struct, or a tuple of fields and row structs, flattened).
    /// Fails only when the underlying writer fails.
    pub fn try_row(&mut self, row: impl Serialize) -> std::io::Result<()> {
        self.0.serialize(row).map_err(std::io::Error::other)
    }

    /// Appends one row to an in-memory file.
    pub fn row(&mut self, row: impl Serialize) {
        self.try_row(row).expect("row structs serialize to CSV");
    }

    /// Flushes the rows written into the underlying writer.
    pub fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// The columns of row struct `T`: its serde field names, in order.
pub fn columns<T: Serialize + Default>() -> Vec<String> {
    let mut w = ::csv::Writer::from_writer(Vec::new());
    w.serialize(T::default())
        .expect("row structs serialize to CSV");
    let bytes = w.into_inner().expect("writing to memory");
    let mut r = ::csv::Reader::from_reader(bytes.as_slice());
    r.headers()
        .expect("a header was written")
        .iter()
        .map(String::from)
        .collect()
}

/// Every row of `rows` under the header of `T`.
pub fn to_csv<'a, T: Serialize + Default + 'a>(rows: impl IntoIterator<Item = &'a T>) -> String {
    let mut w = Writer::for_rows::<T>();
    for r in rows {
        w.row(r);
    }
    w.finish()
}

/// Formats a time in seconds as the CSV files write it: rounded to the millisecond, up to
/// three decimals, no trailing zeros (`90.25`, `2`). Negative values keep their sign;
/// a non-finite value (never produced by the engine) is written as an empty field.
pub fn secs(x: f64) -> String {
    if !x.is_finite() {
        return String::new();
    }
    let ms = (x.abs() * 1000.0).round() as u64;
    let mut out = String::with_capacity(24);
    if x < 0.0 && ms > 0 {
        out.push('-');
    }
    crate::time::push_seconds(ms, &mut out);
    out
}

/// Serializes seconds as [`secs`] writes them (for `#[serde(serialize_with)]`).
pub fn ser_secs<S: serde::Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&secs(*x))
}

/// Serializes optional seconds as [`secs`] writes them, `None` as an empty field.
pub fn ser_opt_secs<S: serde::Serializer>(x: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&x.map(secs).unwrap_or_default())
}

/// `summary.csv`: the header and one row.
pub fn summary_csv(s: &Summary) -> String {
    to_csv([s])
}

/// `nodes.csv`: the header and one row per node.
pub fn nodes_csv(rows: &[NodeRow]) -> String {
    to_csv(rows)
}

/// `timeseries.csv`: the header and one row per sample.
pub fn timeseries_csv(rows: &[Sample]) -> String {
    to_csv(rows)
}

/// `ec2_calls.csv`: the header and one row per action.
pub fn ec2_calls_csv(rows: &[Ec2Row]) -> String {
    to_csv(rows)
}

/// `pod_waits.csv`: the header and one row per pod that waited for an IP.
pub fn pod_waits_csv(rows: &[PodWait]) -> String {
    to_csv(rows)
}

/// `subnets.csv`: the header and one row per subnet.
pub fn subnets_csv(rows: &[SubnetRow]) -> String {
    to_csv(rows)
}

/// The columns of `subnet_timeseries.csv`.
pub const SUBNET_TIMESERIES_COLUMNS: [&str; 6] = [
    "time_s",
    "subnet",
    "used",
    "free",
    "free_prefix_blocks",
    "fragmentation_score",
];

/// `subnet_timeseries.csv`: the header and one row per sample and subnet, the subnet named
/// after `subnets[sample.subnet]`.
pub fn subnet_timeseries_csv(samples: &[SubnetSample], subnets: &[SubnetRow]) -> String {
    let mut w = Writer::with_header(SUBNET_TIMESERIES_COLUMNS);
    for s in samples {
        let name = subnets
            .get(s.subnet as usize)
            .map_or("", |r| r.name.as_str());
        w.row((
            secs(s.time_s),
            name,
            s.used,
            s.free,
            s.free_prefix_blocks,
            s.fragmentation_score,
        ));
    }
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::WaitReason;

    fn parse(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
        let mut r = ::csv::Reader::from_reader(text.as_bytes());
        let header = r.headers().unwrap().iter().map(String::from).collect();
        let rows = r
            .records()
            .map(|rec| rec.unwrap().iter().map(String::from).collect())
            .collect();
        (header, rows)
    }

    #[test]
    fn seconds_are_exact_and_short() {
        assert_eq!(secs(0.0), "0");
        assert_eq!(secs(1.5), "1.5");
        assert_eq!(secs(2.0), "2");
        assert_eq!(secs(0.125), "0.125");
        assert_eq!(secs(21_600.0), "21600");
        assert_eq!(secs(0.1 + 0.2), "0.3", "float noise is rounded away");
        assert_eq!(secs(1.0004), "1");
        assert_eq!(secs(1.0005), "1.001");
        assert_eq!(secs(-2.5), "-2.5");
        assert_eq!(secs(-0.0001), "0");
    }

    #[test]
    fn summary_has_the_contract_columns_and_an_empty_first_insufficient() {
        let mut s = Summary {
            scenario: "prefix, m5".into(),
            seed: 7,
            duration_s: 7200.0,
            ip_wait_p99_s: 3.25,
            ..Summary::default()
        };
        let (header, rows) = parse(&summary_csv(&s));
        assert_eq!(header, columns::<Summary>());
        assert_eq!(rows.len(), 1);
        let cols = columns::<Summary>();
        let col = |name: &str| cols.iter().position(|c| c == name).unwrap();
        assert_eq!(rows[0][col("scenario")], "prefix, m5");
        assert_eq!(rows[0][col("duration_s")], "7200");
        assert_eq!(rows[0][col("ip_wait_p99_s")], "3.25");
        assert_eq!(rows[0][col("first_insufficient_cidr_s")], "");

        s.first_insufficient_cidr_s = Some(4_510.5);
        s.events = 123_456;
        let (_, rows) = parse(&summary_csv(&s));
        assert_eq!(rows[0][col("first_insufficient_cidr_s")], "4510.5");
        assert_eq!(rows[0][col("events")], "123456");
        assert!(summary_csv(&s).starts_with("scenario,seed,duration_s,nodes,pods_peak,"));
    }

    #[test]
    fn every_file_has_its_header_and_one_line_per_row() {
        let nodes = vec![NodeRow {
            node: "general-0".into(),
            nodegroup: "general".into(),
            instance_type: "m5.large".into(),
            max_pods: 29,
            total_ips: 16,
            ..NodeRow::default()
        }];
        let text = nodes_csv(&nodes);
        assert_eq!(text.lines().count(), 2);
        let (h, rows) = parse(&text);
        assert_eq!(h, columns::<NodeRow>());
        assert_eq!(rows[0][..4], ["general-0", "general", "m5.large", "29"]);

        let samples: Vec<Sample> = (0..3u32)
            .map(|i| Sample {
                time_s: f64::from(i) * 10.0,
                total_ips: 10 + u64::from(i),
                ..Sample::default()
            })
            .collect();
        let (h, rows) = parse(&timeseries_csv(&samples));
        assert_eq!(h, columns::<Sample>());
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[2][0], "20");
        assert_eq!(rows[2][7], "12");

        let ec2 = vec![Ec2Row {
            action: "AssignPrivateIpAddresses".into(),
            calls: 5,
            succeeded: 3,
            failed: 2,
            throttled: 1,
            insufficient_cidr_blocks: 1,
            insufficient_free_addresses: 0,
        }];
        assert_eq!(
            ec2_calls_csv(&ec2),
            "action,calls,succeeded,failed,throttled,insufficient_cidr_blocks,insufficient_free_addresses\n\
             AssignPrivateIpAddresses,5,3,2,1,1,0\n"
        );

        let waits = vec![PodWait {
            pod: "web-\"1\"".into(),
            node: "n0".into(),
            bound_s: 60.0,
            ip_s: Some(61.5),
            wait_s: 1.5,
            reason: WaitReason::InsufficientCidrCooldown,
        }];
        let text = pod_waits_csv(&waits);
        assert!(text.ends_with("\"web-\"\"1\"\"\",n0,60,61.5,1.5,insufficient_cidr_cooldown\n"));
        let (h, rows) = parse(&text);
        assert_eq!(h, columns::<PodWait>());
        assert_eq!(rows[0][0], "web-\"1\"");
    }

    #[test]
    fn a_file_without_rows_has_its_header() {
        assert_eq!(pod_waits_csv(&[]), "pod,node,bound_s,ip_s,wait_s,reason\n");
    }

    #[test]
    fn the_columns_are_the_contract_order() {
        let s = columns::<Summary>();
        assert_eq!(s[..3], ["scenario", "seed", "duration_s"]);
        assert_eq!(s[26], "first_insufficient_cidr_s");
        assert_eq!(
            columns::<Ec2Row>(),
            [
                "action",
                "calls",
                "succeeded",
                "failed",
                "throttled",
                "insufficient_cidr_blocks",
                "insufficient_free_addresses"
            ]
        );
    }

    #[test]
    fn reason_names_match_serde() {
        for r in [
            WaitReason::NoIp,
            WaitReason::Cooling,
            WaitReason::EniLimit,
            WaitReason::SubnetExhausted,
            WaitReason::InsufficientCidrCooldown,
            WaitReason::Throttled,
            WaitReason::MaxPodsCeiling,
        ] {
            assert_eq!(
                serde_json::to_string(&r).unwrap(),
                format!("\"{}\"", r.name())
            );
        }
    }
}
