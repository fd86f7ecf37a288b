//! Flags whose value is a small language the library parses — `headroom --until`, `tune
//! --constraints`, `tune --space` — checked as clap parses the command line, like every other
//! flag, through [`Spec`]. Their messages already name the flag and point at the part of the
//! value that is wrong (`--until "ip_wait<=3": …`), so the error is passed on as it is
//! rather than behind clap's `invalid value '…' for '--until <CRITERIA>':`.

use std::ffi::OsStr;

use clap::builder::TypedValueParser;
use clap::error::ErrorKind;
use ipamsim::criteria::Criteria;
use ipamsim::tune::space::Space;

/// A clap value parser from a library parse function.
#[derive(Clone, Copy)]
pub struct Spec<T>(pub fn(&str) -> Result<T, ipamsim::Error>);

impl<T: Clone + Send + Sync + 'static> TypedValueParser for Spec<T> {
    type Value = T;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        _arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<T, clap::Error> {
        let text = value
            .to_str()
            .ok_or_else(|| clap::Error::new(ErrorKind::InvalidUtf8).with_cmd(cmd))?;
        (self.0)(text).map_err(|e| clap::Error::raw(ErrorKind::ValueValidation, e).with_cmd(cmd))
    }
}

/// `headroom --until`: the default criteria changed column by column.
pub fn until(text: &str) -> Result<Criteria, ipamsim::Error> {
    Criteria::headroom_defaults().changed_by(text, false, "--until")
}

/// `tune --constraints`: the default constraints changed column by column (`fastest` allowed).
pub fn constraints(text: &str) -> Result<Criteria, ipamsim::Error> {
    Criteria::tune_defaults().changed_by(text, true, "--constraints")
}

/// `tune --space`.
pub fn space(text: &str) -> Result<Space, ipamsim::Error> {
    Space::parse(text)
}
