//! The seven agency profiles: column names, id formats, date formats, sex codes, coverage,
//! error rates and CSV dialects.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::render::{self, Case, DateFmt, NameStyle, PassportStyle, PlaceFmt};
use crate::population::lists::{COUNTRIES, ROMAN};
use crate::population::person::{Person, Ymd};
use crate::schema::DateOrder;

/// Separates the fields of a buffered row (never part of a generated value).
pub(crate) const FIELD_SEP: char = '\u{1f}';

/// What a column of an agency's extract holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Col {
    /// The agency's record id.
    Id,
    /// The full name.
    Name,
    /// All name tokens but the last (split-name agencies).
    NameFirst,
    /// The last name token (split-name agencies).
    NameLast,
    Passport,
    Dob,
    Sex,
    Place,
    Nik,
    /// Destination country (not a linkage field).
    Country,
}

/// How an agency formats its record ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IdFmt {
    /// `KML-2024-000123`
    Kemlu,
    /// `SIMFONI-2023-00042`
    Simfoni,
    /// `IMI/2022/0001234`
    Imigrasi,
    /// `KMS00001234`
    Kemensos,
    /// `LP/B/0042/III/2023/BARESKRIM`
    Polri,
    /// `PDM-0042/Eku.2/07/2023`
    Kejaksaan,
    /// `P/000042/2023`
    Bp2mi,
}

impl IdFmt {
    /// Formats id number `seq` (1-based, unique per agency) for a case registered in
    /// `year`/`month`.
    pub(crate) fn write(self, seq: u64, year: i32, month: u32, out: &mut String) {
        use std::fmt::Write;
        let _ = match self {
            IdFmt::Kemlu => write!(out, "KML-{year}-{seq:06}"),
            IdFmt::Simfoni => write!(out, "SIMFONI-{year}-{seq:05}"),
            IdFmt::Imigrasi => write!(out, "IMI/{year}/{seq:07}"),
            IdFmt::Kemensos => write!(out, "KMS{seq:08}"),
            IdFmt::Polri => write!(
                out,
                "LP/B/{seq:04}/{}/{year}/BARESKRIM",
                ROMAN[month as usize - 1]
            ),
            IdFmt::Kejaksaan => write!(out, "PDM-{seq:04}/Eku.2/{month:02}/{year}"),
            IdFmt::Bp2mi => write!(out, "P/{seq:06}/{year}"),
        };
    }
}

/// One agency's profile.
pub(crate) struct Agency {
    /// Short name: agency id and file name.
    pub name: &'static str,
    /// What the agency is.
    pub title: &'static str,
    /// Columns in file order, with their header names.
    pub columns: &'static [(Col, &'static str)],
    pub id_fmt: IdFmt,
    pub date_fmt: DateFmt,
    pub date_order: DateOrder,
    /// Sex codes (female, male).
    pub sex_codes: (&'static str, &'static str),
    pub name_style: NameStyle,
    pub passport_style: PassportStyle,
    pub place_fmt: PlaceFmt,
    /// Base error rate (scaled by `SynthConfig::error_scale`).
    pub error_rate: f64,
    /// Base missing-value rate per optional field (scaled by `SynthConfig::missing_scale`).
    pub missing_rate: f64,
    /// Rate of partial dates (year only, or `00` day).
    pub partial_date_rate: f64,
    /// Whether the agency copies birth dates from travel documents (which may be falsified).
    pub uses_travel_documents: bool,
    /// Relative chance that a victim is known to this agency.
    pub intake_weight: f64,
    /// CSV field delimiter.
    pub delimiter: u8,
    /// The CSV is exported in Windows-1252 with CRLF line ends.
    pub windows_1252: bool,
    /// Chance of a spreadsheet text marker (`'`) before a NIK.
    pub nik_text_marker: f64,
}

impl Agency {
    /// The CSV dialect in words (for the README).
    pub(crate) fn dialect(&self) -> String {
        let delim = match self.delimiter {
            b',' => "comma-separated",
            b';' => "semicolon-separated",
            b'\t' => "tab-separated",
            _ => "other delimiter",
        };
        if self.windows_1252 {
            format!("{delim}, Windows-1252, CRLF line ends")
        } else {
            format!("{delim}, UTF-8, LF line ends")
        }
    }

    /// The header row.
    pub(crate) fn header(&self) -> Vec<&'static str> {
        self.columns.iter().map(|(_, h)| *h).collect()
    }

    /// The column that holds `col`, if any.
    pub(crate) fn column(&self, col: Col) -> Option<&'static str> {
        self.columns
            .iter()
            .find(|(c, _)| *c == col)
            .map(|(_, h)| *h)
    }

    /// Renders one record of a person onto `out`: every column in header order, separated by
    /// [`FIELD_SEP`]; the id column is an empty placeholder (ids are assigned when rows are
    /// written).
    pub(crate) fn render(
        &self,
        rng: &mut ChaCha8Rng,
        p: &Person,
        error_scale: f64,
        missing_scale: f64,
        out: &mut String,
    ) {
        let err = (self.error_rate * error_scale).clamp(0.0, 1.0);
        let miss = (self.missing_rate * missing_scale).clamp(0.0, 1.0);
        let mut split_last: Option<String> = None;
        for (i, (col, _)) in self.columns.iter().enumerate() {
            if i > 0 {
                out.push(FIELD_SEP);
            }
            match col {
                Col::Id => {}
                Col::Name => out.push_str(&render::name(rng, p, &self.name_style, err)),
                Col::NameFirst => {
                    let full = render::name(rng, p, &self.name_style, err);
                    // The patronym (`binti Hasan`) goes to the last-name column whole; otherwise
                    // the last token does.
                    let lower = full.to_lowercase();
                    let cut = lower
                        .find(" binti ")
                        .or_else(|| lower.find(" bin "))
                        .map(|i| (&full[..i], &full[i + 1..]))
                        .or_else(|| full.rsplit_once(' '));
                    match cut {
                        Some((first, last)) if !last.starts_with(',') => {
                            out.push_str(first);
                            split_last = Some(last.to_string());
                        }
                        _ => {
                            out.push_str(&full);
                            split_last = Some(String::new());
                        }
                    }
                }
                Col::NameLast => out.push_str(&split_last.take().unwrap_or_default()),
                Col::Passport => {
                    if !p.passports.is_empty() && !rng.random_bool(miss) {
                        // The newest passport most of the time.
                        let i = if p.passports.len() > 1 && rng.random_bool(0.3) {
                            0
                        } else {
                            p.passports.len() - 1
                        };
                        out.push_str(&render::passport(
                            rng,
                            &p.passports[i],
                            &self.passport_style,
                            err,
                        ));
                    }
                }
                Col::Dob => {
                    if !rng.random_bool(miss * 0.5) {
                        let dob: Ymd = match p.doc_dob {
                            Some(d) if self.uses_travel_documents && rng.random_bool(0.85) => d,
                            _ => p.dob,
                        };
                        render::date(rng, dob, self.date_fmt, err, self.partial_date_rate, out);
                    }
                }
                Col::Sex => {
                    if !rng.random_bool(miss * 0.3) {
                        out.push_str(render::sex(rng, p.sex, self.sex_codes, err * 0.1));
                    }
                }
                Col::Place => {
                    if !rng.random_bool(miss) {
                        out.push_str(&render::place(
                            rng,
                            p.place,
                            self.place_fmt,
                            self.name_style.case,
                            err,
                        ));
                    }
                }
                Col::Nik => match &p.nik {
                    Some(n) if !rng.random_bool(miss) => {
                        out.push_str(&render::nik(rng, n, err * 0.5, self.nik_text_marker));
                    }
                    _ => {}
                },
                Col::Country => out.push_str(COUNTRIES[p.country]),
            }
        }
    }
}

/// The seven agencies, in `--agencies K` order.
pub(crate) const AGENCIES: &[Agency] = &[
    Agency {
        name: "kemlu",
        title: "Kementerian Luar Negeri (foreign affairs; consular protection of citizens abroad)",
        columns: &[
            (Col::Id, "no_kasus"),
            (Col::Name, "nama_lengkap"),
            (Col::Passport, "no_paspor"),
            (Col::Dob, "tgl_lahir"),
            (Col::Sex, "jenis_kelamin"),
            (Col::Place, "tempat_lahir"),
            (Col::Country, "negara_penempatan"),
        ],
        id_fmt: IdFmt::Kemlu,
        date_fmt: DateFmt::DmySlash,
        date_order: DateOrder::Dmy,
        sex_codes: ("P", "L"),
        name_style: NameStyle {
            case: Case::Upper,
            fold_accents: false,
            honorific_rate: 0.02,
            patronym_rate: 0.15,
        },
        passport_style: PassportStyle {
            lost_prefix: 0.03,
            separated: 0.08,
        },
        place_fmt: PlaceFmt::Bare,
        error_rate: 0.05,
        missing_rate: 0.08,
        partial_date_rate: 0.01,
        uses_travel_documents: true,
        intake_weight: 1.0,
        delimiter: b',',
        windows_1252: false,
        nik_text_marker: 0.0,
    },
    Agency {
        name: "kpppa",
        title: "Kementerian Pemberdayaan Perempuan dan Perlindungan Anak (women's and children's protection; SIMFONI-PPA)",
        columns: &[
            (Col::Id, "no_registrasi"),
            (Col::Name, "nama_korban"),
            (Col::Sex, "jk"),
            (Col::Dob, "tanggal_lahir"),
            (Col::Place, "asal_daerah"),
            (Col::Nik, "nik"),
            (Col::Country, "negara_tujuan"),
        ],
        id_fmt: IdFmt::Simfoni,
        date_fmt: DateFmt::IndoMonth,
        date_order: DateOrder::Dmy,
        sex_codes: ("Perempuan", "Laki-laki"),
        name_style: NameStyle {
            case: Case::Title,
            fold_accents: false,
            honorific_rate: 0.12,
            patronym_rate: 0.05,
        },
        passport_style: PassportStyle {
            lost_prefix: 0.15,
            separated: 0.1,
        },
        place_fmt: PlaceFmt::Long,
        error_rate: 0.10,
        missing_rate: 0.35,
        partial_date_rate: 0.06,
        uses_travel_documents: false,
        intake_weight: 0.8,
        delimiter: b';',
        windows_1252: false,
        nik_text_marker: 0.0,
    },
    Agency {
        name: "imigrasi",
        title: "Direktorat Jenderal Imigrasi, Kementerian Hukum dan HAM (immigration; passports, no NIK)",
        columns: &[
            (Col::Id, "ID_PERMOHONAN"),
            (Col::Name, "NAMA"),
            (Col::Sex, "JNS_KELAMIN"),
            (Col::Dob, "TGL_LAHIR"),
            (Col::Place, "TEMPAT_LAHIR"),
            (Col::Passport, "NO_PASPOR"),
        ],
        id_fmt: IdFmt::Imigrasi,
        date_fmt: DateFmt::Iso,
        date_order: DateOrder::Ymd,
        sex_codes: ("F", "M"),
        name_style: NameStyle {
            case: Case::Upper,
            fold_accents: true,
            honorific_rate: 0.0,
            patronym_rate: 0.25,
        },
        passport_style: PassportStyle {
            lost_prefix: 0.01,
            separated: 0.0,
        },
        place_fmt: PlaceFmt::Bare,
        error_rate: 0.02,
        missing_rate: 0.02,
        partial_date_rate: 0.0,
        uses_travel_documents: true,
        intake_weight: 0.6,
        delimiter: b'\t',
        windows_1252: false,
        nik_text_marker: 0.0,
    },
    Agency {
        name: "kemensos",
        title: "Kementerian Sosial (social affairs; rehabilitation and repatriation; holds NIK)",
        columns: &[
            (Col::Id, "id_penerima"),
            (Col::Nik, "nik"),
            (Col::Name, "nama"),
            (Col::Place, "tempat_lahir"),
            (Col::Dob, "tanggal_lahir"),
            (Col::Sex, "jenis_kelamin"),
        ],
        id_fmt: IdFmt::Kemensos,
        date_fmt: DateFmt::DmyDash,
        date_order: DateOrder::Dmy,
        sex_codes: ("2", "1"),
        name_style: NameStyle {
            case: Case::Title,
            fold_accents: false,
            honorific_rate: 0.05,
            patronym_rate: 0.1,
        },
        passport_style: PassportStyle {
            lost_prefix: 0.05,
            separated: 0.05,
        },
        place_fmt: PlaceFmt::Short,
        error_rate: 0.08,
        missing_rate: 0.10,
        partial_date_rate: 0.02,
        uses_travel_documents: false,
        intake_weight: 0.7,
        delimiter: b',',
        windows_1252: true,
        nik_text_marker: 0.1,
    },
    Agency {
        name: "polri",
        title: "Kepolisian Negara Republik Indonesia (police; TPPO case reports)",
        columns: &[
            (Col::Id, "NO_LP"),
            (Col::Name, "NAMA_KORBAN"),
            (Col::Sex, "JK"),
            (Col::Place, "TEMPAT_LAHIR"),
            (Col::Dob, "TGL_LAHIR"),
            (Col::Nik, "NIK"),
            (Col::Passport, "NO_PASPOR"),
        ],
        id_fmt: IdFmt::Polri,
        date_fmt: DateFmt::DmyShortYear,
        date_order: DateOrder::Dmy,
        sex_codes: ("PR", "LK"),
        name_style: NameStyle {
            case: Case::Upper,
            fold_accents: true,
            honorific_rate: 0.04,
            patronym_rate: 0.3,
        },
        passport_style: PassportStyle {
            lost_prefix: 0.10,
            separated: 0.15,
        },
        place_fmt: PlaceFmt::Short,
        error_rate: 0.12,
        missing_rate: 0.40,
        partial_date_rate: 0.05,
        uses_travel_documents: false,
        intake_weight: 0.9,
        delimiter: b',',
        windows_1252: false,
        nik_text_marker: 0.0,
    },
    Agency {
        name: "kejaksaan",
        title: "Kejaksaan Republik Indonesia (prosecution; victims named in TPPO indictments)",
        columns: &[
            (Col::Id, "no_register_perkara"),
            (Col::NameFirst, "nama_depan"),
            (Col::NameLast, "nama_belakang"),
            (Col::Dob, "tanggal_lahir"),
            (Col::Sex, "jenis_kelamin"),
            (Col::Place, "tempat_lahir"),
        ],
        id_fmt: IdFmt::Kejaksaan,
        date_fmt: DateFmt::DmySlashSerial,
        date_order: DateOrder::Dmy,
        sex_codes: ("PEREMPUAN", "LAKI-LAKI"),
        name_style: NameStyle {
            case: Case::Title,
            fold_accents: false,
            honorific_rate: 0.03,
            patronym_rate: 0.2,
        },
        passport_style: PassportStyle {
            lost_prefix: 0.05,
            separated: 0.2,
        },
        place_fmt: PlaceFmt::Long,
        error_rate: 0.07,
        missing_rate: 0.15,
        partial_date_rate: 0.03,
        uses_travel_documents: false,
        intake_weight: 0.4,
        delimiter: b',',
        windows_1252: false,
        nik_text_marker: 0.0,
    },
    Agency {
        name: "bp2mi",
        title: "Badan Pelindungan Pekerja Migran Indonesia (migrant-worker agency; passports and NIK; mostly workers who are not victims)",
        columns: &[
            (Col::Id, "no_registrasi_pmi"),
            (Col::Nik, "nik"),
            (Col::Name, "nama_pmi"),
            (Col::Sex, "jenis_kelamin"),
            (Col::Place, "tempat_lahir"),
            (Col::Dob, "tgl_lahir"),
            (Col::Passport, "no_paspor"),
            (Col::Country, "negara_penempatan"),
        ],
        id_fmt: IdFmt::Bp2mi,
        date_fmt: DateFmt::DmySlash,
        date_order: DateOrder::Dmy,
        sex_codes: ("P", "L"),
        name_style: NameStyle {
            case: Case::Upper,
            fold_accents: false,
            honorific_rate: 0.0,
            patronym_rate: 0.2,
        },
        passport_style: PassportStyle {
            lost_prefix: 0.02,
            separated: 0.03,
        },
        place_fmt: PlaceFmt::Short,
        error_rate: 0.06,
        missing_rate: 0.05,
        partial_date_rate: 0.01,
        uses_travel_documents: true,
        intake_weight: 0.9,
        delimiter: b',',
        windows_1252: false,
        nik_text_marker: 0.0,
    },
];

/// The index of BP2MI in [`AGENCIES`].
pub(crate) const BP2MI: usize = 6;
