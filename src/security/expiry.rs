//! When credentials stop being accepted: the `expires` instants of the users file, read
//! from TOML datetimes and written by `herald tokens create --expires-in`. UTC throughout,
//! in whole seconds since the Unix epoch; the calendar arithmetic is [`crate::calendar`]'s.

use toml::value::{Datetime, Offset};

use crate::calendar::{civil_from_days, days_from_civil, days_in_month};

/// Seconds since the Unix epoch now.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A TOML datetime as seconds since the epoch: an offset datetime (`2027-01-31T00:00:00Z`,
/// `…+02:00`) or a date alone (the start of that day, UTC). A local datetime is refused:
/// which zone it means would be a guess.
pub fn instant(datetime: &Datetime) -> Result<u64, String> {
    let Some(date) = datetime.date else {
        return Err("give a date and a time with an offset, e.g. 2027-01-31T00:00:00Z".to_string());
    };
    let (time, offset_minutes) = match (datetime.time, datetime.offset) {
        (None, _) => (None, 0),
        (Some(time), Some(Offset::Z)) => (Some(time), 0),
        (Some(time), Some(Offset::Custom { minutes })) => (Some(time), i64::from(minutes)),
        (Some(_), None) => {
            return Err(format!(
                "{datetime} has no offset: write it in UTC with a Z (e.g. {datetime}Z) or with +HH:MM"
            ))
        }
    };
    if !(1..=12).contains(&date.month) || date.day == 0 || date.day > days_in_month(date.year.into(), date.month) {
        return Err(format!("{datetime} is not a date"));
    }
    let days = days_from_civil(i64::from(date.year), date.month, date.day);
    let seconds_of_day = time.map_or(0, |t| {
        i64::from(t.hour) * 3600 + i64::from(t.minute) * 60 + i64::from(t.second)
    });
    let seconds = days * 86_400 + seconds_of_day - offset_minutes * 60;
    u64::try_from(seconds).map_err(|_| format!("{datetime} is before 1970"))
}

/// Seconds since the epoch as RFC 3339 in UTC (`2027-01-31T00:00:00Z`), as TOML reads it.
pub fn rfc3339(seconds: u64) -> String {
    let days = (seconds / 86_400) as i64;
    let rest = seconds % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

/// A lifetime such as `90d`, `12h` or `30m`, in seconds.
pub fn duration(text: &str) -> Result<u64, String> {
    let unit_at = text.len().saturating_sub(1);
    let (number, unit) = text.split_at(unit_at);
    let scale = match unit {
        "d" => 86_400,
        "h" => 3600,
        "m" => 60,
        _ => {
            return Err(format!(
                "{text:?}: expected a number of days, hours or minutes, e.g. 90d, 12h, 30m"
            ))
        }
    };
    match number.parse::<u64>() {
        Ok(n) if n > 0 => n
            .checked_mul(scale)
            .ok_or_else(|| format!("{text:?} is too long a lifetime")),
        _ => Err(format!(
            "{text:?}: expected a positive whole number before the unit, e.g. 90d"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn datetime(text: &str) -> Datetime {
        text.parse().unwrap()
    }

    #[test]
    fn instants_match_known_epoch_seconds() {
        assert_eq!(instant(&datetime("1970-01-01T00:00:00Z")), Ok(0));
        assert_eq!(instant(&datetime("2000-03-01T00:00:00Z")), Ok(951_868_800));
        assert_eq!(instant(&datetime("2027-01-31T12:30:15Z")), Ok(1_801_398_615));
        assert_eq!(instant(&datetime("2027-01-31T14:30:15+02:00")), Ok(1_801_398_615));
        assert_eq!(instant(&datetime("2027-01-31")), Ok(1_801_353_600));
    }

    #[test]
    fn ambiguous_or_impossible_instants_are_refused_with_a_reason() {
        let local = instant(&datetime("2027-01-31T00:00:00")).unwrap_err();
        assert!(local.contains("no offset"), "{local}");
        assert!(instant(&datetime("1969-12-31T23:59:59Z"))
            .unwrap_err()
            .contains("before 1970"));
        let mut february_29 = datetime("2028-02-29T00:00:00Z");
        assert!(instant(&february_29).is_ok());
        february_29.date.as_mut().unwrap().year = 2027;
        assert!(instant(&february_29).unwrap_err().contains("not a date"));
        assert!(instant(&datetime("12:00:00")).unwrap_err().contains("give a date"));
    }

    #[test]
    fn formatting_is_the_inverse_of_reading() {
        for seconds in [
            0,
            951_782_400,
            951_868_800,
            1_801_398_615,
            4_102_444_799,
            253_402_300_799,
        ] {
            let text = rfc3339(seconds);
            assert_eq!(instant(&datetime(&text)), Ok(seconds), "{text}");
        }
        assert_eq!(rfc3339(1_801_398_615), "2027-01-31T12:30:15Z");
    }

    #[test]
    fn lifetimes_take_a_unit() {
        assert_eq!(duration("90d"), Ok(90 * 86_400));
        assert_eq!(duration("12h"), Ok(12 * 3600));
        assert_eq!(duration("30m"), Ok(1800));
        for bad in ["", "d", "90", "0d", "-1d", "1.5d", "90w", "99999999999999999999d"] {
            assert!(duration(bad).is_err(), "{bad}");
        }
    }
}
