//! Built-in value lists: names by naming tradition, regencies and cities, destination countries.
//!
//! Every list is a plain constant so generation needs no download and is identical everywhere.

/// A naming tradition: how a person's name is built.
pub(crate) struct Tradition {
    /// Share of generated persons drawn from this tradition (relative weight).
    pub weight: f64,
    /// Whether most bearers are Muslim (honorific Hj./H., bin/binti patronyms).
    pub muslim: bool,
    /// Chance that the name is a single token (common for Javanese).
    pub mononym: f64,
    /// First given names, women.
    pub female_first: &'static [&'static str],
    /// First given names, men.
    pub male_first: &'static [&'static str],
    /// Second given names, women (empty: none).
    pub female_second: &'static [&'static str],
    /// Second given names, men (empty: none).
    pub male_second: &'static [&'static str],
    /// Family names (Batak marga, NTT clan names); empty for traditions without surnames.
    pub surnames: &'static [&'static str],
    /// Balinese birth-order names (placed after `Ni` / `I`).
    pub birth_order: &'static [&'static str],
}

/// The naming traditions, roughly weighted like the origin of Indonesian trafficking victims
/// abroad (Java and Nusa Tenggara first).
pub(crate) const TRADITIONS: &[Tradition] = &[
    // Javanese: many mononyms.
    Tradition {
        weight: 0.30,
        muslim: true,
        mononym: 0.45,
        female_first: &[
            "Sumarni", "Suparmi", "Wagiyem", "Painem", "Sutini", "Sulastri", "Tukiyem", "Ngatini",
            "Suwarni", "Sumiati", "Darmini", "Kartini", "Rusmini", "Sriyati", "Mujiati", "Yuliani",
            "Wartini", "Paryati", "Sukarti", "Sri", "Dwi", "Tri", "Endang", "Retno", "Dyah",
            "Wahyuningsih", "Suyatmi", "Tumini", "Juminten", "Sukinah",
        ],
        male_first: &[
            "Sutrisno", "Suparman", "Slamet", "Sugiono", "Paijo", "Sukirman", "Wagiman", "Bambang",
            "Joko", "Supriyadi", "Suyanto", "Darsono", "Mulyono", "Sumarno", "Hartono", "Eko",
            "Agus", "Budi", "Heru", "Adi", "Puji", "Suroso",
        ],
        female_second: &[
            "Wahyuni", "Lestari", "Rahayu", "Handayani", "Astuti", "Suryani", "Purwanti",
            "Widowati", "Setyaningsih", "Ningsih", "Susilowati", "Utami",
        ],
        male_second: &[
            "Prasetyo", "Santoso", "Susilo", "Sutrisno", "Purnomo", "Nugroho", "Wibowo", "Saputro",
            "Setiawan", "Haryanto",
        ],
        surnames: &[],
        birth_order: &[],
    },
    // Sundanese.
    Tradition {
        weight: 0.15,
        muslim: true,
        mononym: 0.15,
        female_first: &[
            "Euis", "Cucu", "Dede", "Neneng", "Imas", "Iis", "Yayah", "Enok", "Ai", "Tati", "Lilis",
            "Entin", "Cicih", "Nining",
        ],
        male_first: &[
            "Asep", "Ujang", "Dadang", "Cecep", "Encep", "Ade", "Dedi", "Iwan", "Dudung", "Ayi",
        ],
        female_second: &[
            "Komariah", "Sumiati", "Rohaeti", "Nurhasanah", "Kurniasih", "Rukmini", "Rosita",
            "Maryani", "Hasanah", "Rohmawati", "Jubaedah", "Mulyani",
        ],
        male_second: &[
            "Saepudin", "Sunarya", "Hidayat", "Suryana", "Sopandi", "Kurniawan", "Rohman",
            "Setiawan", "Supriatna", "Gunawan",
        ],
        surnames: &[],
        birth_order: &[],
    },
    // Balinese: Ni / I + birth-order name + given name.
    Tradition {
        weight: 0.04,
        muslim: false,
        mononym: 0.0,
        female_first: &[
            "Sri", "Ayu", "Sukerti", "Suartini", "Kartini", "Wartini", "Sumiarti", "Puspawati",
            "Arini", "Sudiani",
        ],
        male_first: &[
            "Suarta", "Sudarma", "Wirawan", "Arsana", "Budiarta", "Suardana", "Mertayasa", "Adnyana",
        ],
        female_second: &["Astuti", "Lestari", "Dewi", "Wulandari"],
        male_second: &["Putra", "Wijaya", "Saputra"],
        surnames: &[],
        birth_order: &["Wayan", "Made", "Nyoman", "Ketut", "Putu", "Kadek", "Komang", "Gede", "Luh"],
    },
    // Batak: Christian or Muslim given name + marga.
    Tradition {
        weight: 0.08,
        muslim: false,
        mononym: 0.0,
        female_first: &[
            "Rosmawati", "Maria", "Rotua", "Tiurma", "Dameria", "Lasma", "Rugun", "Hotnida",
            "Nurmala", "Sondang", "Rumondang", "Kristina", "Lamria", "Mónica",
        ],
        male_first: &[
            "Hotman", "Parulian", "Togar", "Sahat", "Binsar", "Martua", "Horas", "Jonggi", "Tigor",
            "Andrés", "Marihot",
        ],
        female_second: &[],
        male_second: &[],
        surnames: &[
            "Simanjuntak", "Sitorus", "Siregar", "Nainggolan", "Hutapea", "Situmorang", "Sinaga",
            "Simatupang", "Pardede", "Manurung", "Lubis", "Harahap", "Nasution", "Panjaitan",
            "Sihombing", "Tambunan", "Hutagalung", "Silalahi", "Sitompul", "Butarbutar", "Marpaung",
            "Sianturi", "Damanik", "Purba", "Saragih", "Ginting", "Tarigan", "Sembiring", "Sitepu",
        ],
        birth_order: &[],
    },
    // East Nusa Tenggara: Catholic / Protestant baptismal names + clan name.
    Tradition {
        weight: 0.18,
        muslim: false,
        mononym: 0.05,
        female_first: &[
            "Maria", "Yohana", "Fransiska", "Agustina", "Margaretha", "Yuliana", "Theresia",
            "Elisabeth", "Veronika", "Katarina", "Bernadeta", "Agnes", "Kristina", "Anastasia",
            "Florentina", "Magdalena", "Adriana", "Oktaviana", "Yosefina", "Inês", "Mariana",
            "Dolores",
        ],
        male_first: &[
            "Yohanes", "Fransiskus", "Petrus", "Paulus", "Yosef", "Agustinus", "Markus", "Stefanus",
            "Antonius", "Mikael", "Aloysius", "Kornelis", "Yakobus", "Simon", "Dominikus", "José",
            "Andrés", "Emanuel",
        ],
        female_second: &["Goreti", "Fransiska", "Imakulata", "Yasinta", "Rosalia", "Sesilia"],
        male_second: &["Xaverius", "Paulus", "Seran", "Ndolu", "Bosco"],
        surnames: &[
            "Bria", "Seran", "Nahak", "Klau", "Mau", "Tae", "Manek", "Fallo", "Ndun", "Lodo", "Pello",
            "Dethan", "Kase", "Nitbani", "Banunaek", "Tanesib", "Taolin", "Bere", "Leki", "Lado",
            "Wele", "Kewa", "Hurek", "Making", "Koten", "Maran", "Tukan", "Djawa", "Rihi", "Nalle",
        ],
        birth_order: &[],
    },
    // Arabic-origin names (Muslim, everywhere; West Nusa Tenggara, Madura, Java, Sumatra).
    Tradition {
        weight: 0.25,
        muslim: true,
        mononym: 0.20,
        female_first: &[
            "Siti", "Nur", "Nurhayati", "Fatimah", "Khadijah", "Aisyah", "Maryam", "Zainab",
            "Halimah", "Rohimah", "Umi", "Syarifah", "Rahmawati", "Nurul", "Khusnul", "Juwairiyah",
            "Hafsah", "Aminah",
        ],
        male_first: &[
            "Muhammad", "Ahmad", "Abdul", "Hasan", "Husein", "Ismail", "Yusuf", "Ibrahim", "Syaiful",
            "Zainal", "Khoirul", "Rizki", "Fauzi", "Nurdin", "Sholeh", "Syamsul", "Lalu",
        ],
        female_second: &[
            "Aminah", "Fatimah", "Aisyah", "Hidayah", "Khotimah", "Kalsum", "Zahra", "Aini",
            "Hasanah", "Jannah", "Azizah", "Rohmah",
        ],
        male_second: &[
            "Rizki", "Fauzi", "Hidayat", "Rahman", "Hakim", "Syukur", "Khoir", "Ali", "Arifin",
            "Zulkifli", "Ridwan", "Yusuf",
        ],
        surnames: &[],
        birth_order: &[],
    },
];

/// Fathers' names used after `bin` / `binti`.
pub(crate) const FATHERS: &[&str] = &[
    "Abdullah", "Hasan", "Ismail", "Usman", "Sulaiman", "Yusuf", "Ahmad", "Rahman", "Salim",
    "Sarmin", "Karta", "Muhidin", "Darto", "Kasim", "Amir", "Marzuki", "Sanusi", "Syamsudin",
    "Wiryo", "Rasyid",
];

/// A birth place: its name, whether it is a city (`Kota`) or a regency (`Kabupaten`), and its
/// 4-digit region code (province + regency, as in the first four NIK digits).
pub(crate) struct Place {
    /// The place name without prefix.
    pub name: &'static str,
    /// A city (`Kota`) rather than a regency (`Kabupaten`).
    pub city: bool,
    /// Province (2 digits) + regency (2 digits).
    pub code: &'static str,
}

const fn kab(name: &'static str, code: &'static str) -> Place {
    Place {
        name,
        city: false,
        code,
    }
}

const fn kota(name: &'static str, code: &'static str) -> Place {
    Place {
        name,
        city: true,
        code,
    }
}

/// Regencies and cities where many Indonesian migrant workers (and trafficking victims) come
/// from, with their region codes.
pub(crate) const PLACES: &[Place] = &[
    // East Nusa Tenggara (53)
    kab("Kupang", "5301"),
    kota("Kupang", "5371"),
    kab("Timor Tengah Selatan", "5302"),
    kab("Timor Tengah Utara", "5303"),
    kab("Belu", "5304"),
    kab("Alor", "5305"),
    kab("Flores Timur", "5306"),
    kab("Sikka", "5307"),
    kab("Ende", "5308"),
    kab("Ngada", "5309"),
    kab("Manggarai", "5310"),
    kab("Sumba Timur", "5311"),
    kab("Sumba Barat", "5312"),
    kab("Lembata", "5313"),
    kab("Rote Ndao", "5314"),
    kab("Sumba Barat Daya", "5318"),
    kab("Malaka", "5321"),
    // West Nusa Tenggara (52)
    kab("Lombok Barat", "5201"),
    kab("Lombok Tengah", "5202"),
    kab("Lombok Timur", "5203"),
    kab("Sumbawa", "5204"),
    kab("Dompu", "5205"),
    kab("Bima", "5206"),
    kota("Mataram", "5271"),
    // West Java (32)
    kab("Bogor", "3201"),
    kab("Sukabumi", "3202"),
    kab("Cianjur", "3203"),
    kab("Bandung", "3204"),
    kab("Garut", "3205"),
    kab("Tasikmalaya", "3206"),
    kab("Ciamis", "3207"),
    kab("Kuningan", "3208"),
    kab("Cirebon", "3209"),
    kab("Majalengka", "3210"),
    kab("Sumedang", "3211"),
    kab("Indramayu", "3212"),
    kab("Subang", "3213"),
    kab("Karawang", "3215"),
    kota("Bandung", "3273"),
    // Central Java (33)
    kab("Cilacap", "3301"),
    kab("Banyumas", "3302"),
    kab("Purbalingga", "3303"),
    kab("Banjarnegara", "3304"),
    kab("Kebumen", "3305"),
    kab("Wonosobo", "3307"),
    kab("Boyolali", "3309"),
    kab("Klaten", "3310"),
    kab("Sragen", "3314"),
    kab("Grobogan", "3315"),
    kab("Pati", "3318"),
    kab("Kendal", "3324"),
    kab("Pemalang", "3327"),
    kab("Tegal", "3328"),
    kab("Brebes", "3329"),
    kota("Semarang", "3374"),
    // East Java (35)
    kab("Ponorogo", "3502"),
    kab("Trenggalek", "3503"),
    kab("Tulungagung", "3504"),
    kab("Blitar", "3505"),
    kab("Kediri", "3506"),
    kab("Malang", "3507"),
    kab("Jember", "3509"),
    kab("Banyuwangi", "3510"),
    kab("Madiun", "3519"),
    kab("Ngawi", "3521"),
    kab("Lamongan", "3524"),
    kab("Sampang", "3527"),
    kab("Sumenep", "3529"),
    kota("Surabaya", "3578"),
    // Lampung (18)
    kab("Lampung Selatan", "1801"),
    kab("Lampung Tengah", "1802"),
    kab("Lampung Timur", "1807"),
    kota("Bandar Lampung", "1871"),
    // North Sumatra (12)
    kab("Tapanuli Utara", "1202"),
    kab("Langkat", "1205"),
    kab("Deli Serdang", "1207"),
    kab("Simalungun", "1208"),
    kab("Asahan", "1209"),
    kota("Medan", "1275"),
    kota("Pematangsiantar", "1272"),
    // Others
    kota("Batam", "2171"),
    kab("Sambas", "6101"),
    kota("Makassar", "7371"),
    kab("Bone", "7308"),
    kota("Jakarta Timur", "3175"),
];

/// Destination countries of Indonesian migrant workers and trafficking victims.
pub(crate) const COUNTRIES: &[&str] = &[
    "Malaysia",
    "Arab Saudi",
    "Hong Kong",
    "Taiwan",
    "Singapura",
    "Uni Emirat Arab",
    "Kamboja",
    "Myanmar",
    "Filipina",
    "Qatar",
    "Korea Selatan",
    "Jepang",
];

/// Indonesian month names.
pub(crate) const MONTHS_ID: [&str; 12] = [
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
];

/// Indonesian month abbreviations.
pub(crate) const MONTHS_ID_SHORT: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des",
];

/// Roman month numerals (police report numbers).
pub(crate) const ROMAN: [&str; 12] = [
    "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII",
];
