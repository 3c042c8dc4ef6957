//! Indonesian personal names → [`Name`] (tokens + optional patronym).
//!
//! The rules, in the order they apply:
//!
//! 1. **Segments.** The cell is split at `,` and `;`. A later segment that is, letters only, one
//!    academic degree (`Budi, S.H.`, `Budi, S. Pd`) is dropped.
//! 2. **Folding.** Each whitespace-separated chunk is folded ([`fold`](super::fold): NFKC,
//!    lowercase, diacritics removed); apostrophes vanish (`Ma'ruf` → `maruf`), other
//!    punctuation splits (`Abdul-Rahman` → `abdul rahman`, `M.Yusuf` → `m yusuf`). A dotted
//!    chunk whose letters spell a title or degree stays one token (`S.Pd.` → `spd`,
//!    `K.H.` → `kh`). Tokens made only of digits are dropped.
//! 3. **Degrees** (`S.Pd.`, `S.H.`, `S.E.`, `S.Kom.`, `S.Ag.`, `M.M.`, `M.Pd.`, `A.Md.`,
//!    `S.Kep.`, `Amd`, `ST`, `MBA`, `PhD`, …) are dropped anywhere **except the first token**
//!    (a name does not start with a degree; a first token that looks like one is a name). Short
//!    degrees that are also plausible name parts (`MA`, `BA`, `AK`, `MT`, `SP`, `Ked`) are dropped
//!    only when written with a dot.
//! 4. **Old spellings** (van Ophuijsen / Soewandi) folded in every token, repeated until nothing
//!    changes (so `ddj` → `j`): `oe`→`u`, `dj`→`j`, `tj`→`c`, `sj`→`sy`, `ch`→`kh`, `nj`→`ny`.
//!    The last two also hit modern names (`Chandra` → `khandra`, `Panji` → `panyi`): harmless,
//!    because every agency's names go through the same rules.
//! 5. **Patronym.** The first `bin`, `binti`, `bt`, `bte`, `binte`, `bint` after the first token
//!    splits the name: what follows becomes [`Name::patronym`], normalized by the same steps 6–9.
//! 6. **Titles and honorifics** are removed anywhere: `Hj`, `Haji`, `Hajjah`, `Hajah`, `Ibu`, `Bu`,
//!    `Bpk`, `Bapak`, `Pak`, `Sdr`, `Sdri`, `Saudara`, `Saudari`, `Tn`, `Tuan`, `Ny`, `Nyonya`,
//!    `Nn`, `Nona`, `Dr`, `Drs`, `Dra`, `Ir`, `Prof`, `KH`, `Kyai`, `Ustadz`, `Alm`, `Almarhum(ah)`,
//!    and the noble title **`Raden`** / `Rd` (a title, not a name: agencies record it
//!    inconsistently, so keeping it would split one person in two).
//!    **Single-letter and two-letter abbreviations are titles only in first position:** a leading
//!    `H` (haji), `R` (raden), `RA` (raden ajeng), `RM` (raden mas) is removed, repeatedly
//!    (`Dr. H. R. Budi` → `budi`); the same letters later in the name are initials and kept.
//! 7. **Muhammad.** Every spelling — `Muhammad`, `Muhamad`, `Mohammad`, `Mohamad`, `Mohamed`,
//!    `Muhammed`, `Mochamad`, `Mochammad`, `Mokhamad`, `Muhamat`, … (pattern
//!    `m[ou]k?h?a m+ [ae][dt]`) — and the abbreviations `Moch`, `Mokh`, `Moh`, `Mohd`, `Muh`,
//!    `Mukh`, `Mhd`, `Md` become `muhammad`; so does a leading `M` initial followed by another
//!    name (`M. Yusuf`). A leading `St` followed by another name is `siti`.
//! 8. **Nur / Siti / Sri.** Indonesians write these prefixes joined or split. padan **joins**:
//!    a token `nur`, `nurul`, `siti` or `sri` is glued to the following token when that token has
//!    two letters or more (`Siti Nur Haliza` → `sitinurhaliza`, `Nur Aini` → `nuraini`).
//!    Joining never needs to guess where a prefix ends inside a word (`Nurul`, `Nurdin`,
//!    `Srikandi` stay whole), so it is exact and idempotent. A trailing prefix stays alone.
//! 9. Nothing left → `None`. A mononym is a normal name. Token order is kept as written;
//!    [`Name::sorted_key`] gives the order-insensitive form.
//!
//! Every step is a fixed point, so `normalize(canonical(normalize(x)))` has the same tokens as
//! `normalize(x)` (property-tested).

use super::{fold_into, is_apostrophe};

/// A normalized name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Name {
    /// The name's tokens in written order (titles, degrees and patronym removed).
    pub tokens: Vec<String>,
    /// What followed `bin` / `binti`, normalized the same way, tokens joined by a space.
    pub patronym: Option<String>,
}

impl Name {
    /// The tokens joined by one space.
    pub fn canonical(&self) -> String {
        self.tokens.join(" ")
    }

    /// The tokens sorted, joined by one space: equal for `Budi Santoso` and `Santoso Budi`.
    pub fn sorted_key(&self) -> String {
        let mut t: Vec<&str> = self.tokens.iter().map(String::as_str).collect();
        t.sort_unstable();
        t.join(" ")
    }

    /// The distinct [`phonetic`] codes of the tokens, sorted: equal for spelling variants in any
    /// token order.
    pub fn phonetic_codes(&self) -> Vec<String> {
        phonetic_codes(&self.tokens)
    }

    /// [`Name::phonetic_codes`] joined by one space (the name's part of blocking keys and salts).
    pub fn phonetic_key(&self) -> String {
        phonetic_key(&self.tokens)
    }
}

/// The distinct [`phonetic`] codes of normalized name tokens, sorted ([`Name::phonetic_codes`]).
pub fn phonetic_codes(tokens: &[String]) -> Vec<String> {
    let mut codes: Vec<String> = tokens.iter().map(|t| phonetic(t)).collect();
    codes.sort_unstable();
    codes.dedup();
    codes
}

/// [`phonetic_codes`] joined by one space: a name's part of blocking keys and salt slots, also
/// computed by the self-test for public names ([`Name::phonetic_key`]).
pub fn phonetic_key(tokens: &[String]) -> String {
    phonetic_codes(tokens).join(" ")
}

/// Titles and honorifics removed anywhere in the name (after old-spelling folding).
fn is_title(t: &str) -> bool {
    matches!(
        t,
        "hj" | "haji"
            | "hajjah"
            | "hajah"
            | "hajja"
            | "ibu"
            | "bu"
            | "bpk"
            | "bapak"
            | "pak"
            | "sdr"
            | "sdri"
            | "saudara"
            | "saudari"
            | "tn"
            | "tuan"
            | "ny"
            | "nyonya"
            | "nn"
            | "nona"
            | "dr"
            | "drs"
            | "dra"
            | "ir"
            | "prof"
            | "kh"
            | "kyai"
            | "kiai"
            | "ust"
            | "ustad"
            | "ustadz"
            | "ustaz"
            | "ustadzah"
            | "ustazah"
            | "raden"
            | "rd"
            | "alm"
            | "almh"
            | "almarhum"
            | "almarhumah"
    )
}

/// Titles removed only in first position (initials elsewhere).
fn is_first_title(t: &str) -> bool {
    matches!(t, "h" | "r" | "ra" | "rm")
}

/// Degrees dropped after the first token, with or without dots.
fn is_plain_degree(t: &str) -> bool {
    matches!(
        t,
        "spd"
            | "spdi"
            | "skom"
            | "sag"
            | "ssos"
            | "skm"
            | "skep"
            | "sked"
            | "sfarm"
            | "sthi"
            | "shi"
            | "sip"
            | "ssi"
            | "sh"
            | "se"
            | "sei"
            | "st"
            | "ssn"
            | "sst"
            | "ssy"
            | "sikom"
            | "sgz"
            | "spsi"
            | "sars"
            | "mm"
            | "mpd"
            | "mh"
            | "msi"
            | "mkes"
            | "mkom"
            | "mag"
            | "mba"
            | "msc"
            | "phd"
            | "amd"
            | "amdkeb"
            | "amdkep"
            | "amdkes"
            | "amk"
            | "mhum"
            | "mkn"
            | "mtr"
    )
}

/// Degrees dropped after the first token only when written with a dot.
fn is_dotted_degree(t: &str) -> bool {
    matches!(t, "ma" | "ba" | "ak" | "mt" | "sp" | "ked" | "bsc")
}

/// Patronym markers.
fn is_bin(t: &str) -> bool {
    matches!(t, "bin" | "binti" | "bt" | "bte" | "binte" | "bint")
}

/// Prefixes glued to the next token.
fn is_join(t: &str) -> bool {
    matches!(t, "nur" | "nurul" | "siti" | "sri")
}

fn is_degree(t: &str, dotted: bool) -> bool {
    is_plain_degree(t) || (dotted && is_dotted_degree(t))
}

/// `m[ou]k?h?[ae]m+[ae][dt]`, plus the abbreviations.
fn is_muhammad(t: &str) -> bool {
    if matches!(
        t,
        "moch" | "mokh" | "moh" | "mohd" | "muh" | "mukh" | "mhd" | "md"
    ) {
        return true;
    }
    let b = t.as_bytes();
    if b.len() < 6 || b[0] != b'm' || !matches!(b[1], b'o' | b'u') {
        return false;
    }
    let mut i = 2;
    if b[i] == b'k' {
        i += 1;
    }
    if b.get(i) == Some(&b'h') {
        i += 1;
    }
    if !matches!(b.get(i), Some(b'a' | b'e')) {
        return false;
    }
    i += 1;
    let m0 = i;
    while b.get(i) == Some(&b'm') {
        i += 1;
    }
    i > m0 && b.len() == i + 2 && matches!(b[i], b'a' | b'e') && matches!(b[i + 1], b'd' | b't')
}

/// Applies the old-spelling rewrites until nothing changes.
fn respell(t: &str) -> String {
    fn needs(b: &[u8]) -> bool {
        b.windows(2).any(|w| {
            matches!(
                w,
                [b'o', b'e']
                    | [b'd', b'j']
                    | [b't', b'j']
                    | [b's', b'j']
                    | [b'c', b'h']
                    | [b'n', b'j']
            )
        })
    }
    if !needs(t.as_bytes()) {
        return t.to_owned();
    }
    let mut cur = t.as_bytes().to_vec();
    while needs(&cur) {
        let mut next = Vec::with_capacity(cur.len());
        let mut i = 0;
        while i < cur.len() {
            let pair = (cur[i], cur.get(i + 1).copied());
            let rep: Option<&[u8]> = match pair {
                (b'o', Some(b'e')) => Some(b"u"),
                (b'd', Some(b'j')) => Some(b"j"),
                (b't', Some(b'j')) => Some(b"c"),
                (b's', Some(b'j')) => Some(b"sy"),
                (b'c', Some(b'h')) => Some(b"kh"),
                (b'n', Some(b'j')) => Some(b"ny"),
                _ => None,
            };
            match rep {
                Some(r) => {
                    next.extend_from_slice(r);
                    i += 2;
                }
                None => {
                    next.push(cur[i]);
                    i += 1;
                }
            }
        }
        cur = next;
    }
    // Only ASCII pairs were replaced by ASCII, so UTF-8 stays valid.
    String::from_utf8(cur).unwrap_or_default()
}

/// Normalizes a name; `None` when nothing usable remains (empty, only titles or punctuation).
pub fn normalize(raw: &str) -> Option<Name> {
    let mut pre: Vec<String> = Vec::with_capacity(6);
    let mut buf = String::with_capacity(raw.len() + 4);
    for (si, seg) in raw.split([',', ';']).enumerate() {
        if si > 0 && !pre.is_empty() {
            buf.clear();
            fold_into(seg, &mut buf, true);
            let compact: String = buf.chars().filter(|&c| c != ' ').collect();
            if is_degree(&compact, true) {
                continue;
            }
        }
        for chunk in seg.split(|c: char| c.is_whitespace()) {
            if chunk.is_empty() {
                continue;
            }
            buf.clear();
            fold_into(chunk, &mut buf, true);
            if buf.is_empty() {
                continue;
            }
            let dotted = chunk.contains(|c: char| !c.is_alphanumeric() && !is_apostrophe(c));
            if buf.contains(' ') {
                let compact: String = buf.chars().filter(|&c| c != ' ').collect();
                if is_degree(&compact, true) {
                    if pre.is_empty() {
                        pre.push(compact);
                    }
                    continue;
                }
                if is_title(&compact) || is_first_title(&compact) {
                    pre.push(compact);
                    continue;
                }
                for sub in buf.split(' ') {
                    push(&mut pre, sub, dotted);
                }
            } else {
                push(&mut pre, &buf, dotted);
            }
        }
    }
    // Patronym split at the first marker after the first token.
    let split = pre.iter().skip(1).position(|p| is_bin(p)).map(|i| i + 1);
    let (name_part, patronym) = match split {
        Some(i) => {
            let rest: Vec<String> = pre.drain(i..).skip(1).collect();
            let pat = finish(rest);
            (pre, (!pat.is_empty()).then(|| pat.join(" ")))
        }
        None => (pre, None),
    };
    let tokens = finish(name_part);
    if tokens.is_empty() {
        return None;
    }
    Some(Name { tokens, patronym })
}

fn push(pre: &mut Vec<String>, tok: &str, dotted: bool) {
    if tok.bytes().all(|b| b.is_ascii_digit()) {
        return;
    }
    if !pre.is_empty() && is_degree(tok, dotted) {
        return;
    }
    let text = respell(tok);
    if !pre.is_empty() && is_degree(&text, dotted) {
        return;
    }
    pre.push(text);
}

/// Steps 6–8 on one part (name or patronym).
fn finish(mut toks: Vec<String>) -> Vec<String> {
    toks.retain(|t| !is_title(t));
    let lead = toks.iter().take_while(|t| is_first_title(t)).count();
    toks.drain(..lead);
    for t in toks.iter_mut() {
        if is_muhammad(t) {
            *t = "muhammad".to_owned();
        }
    }
    if toks.len() > 1 {
        match toks[0].as_str() {
            "m" => toks[0] = "muhammad".to_owned(),
            "st" => toks[0] = "siti".to_owned(),
            _ => {}
        }
    }
    // Join in place: a prefix token absorbs the next token of two letters or more.
    let mut i = 0;
    while i + 1 < toks.len() {
        let mut j = i;
        while j + 1 < toks.len() && is_join(&toks[j]) && toks[j + 1].len() >= 2 {
            j += 1;
        }
        if j > i {
            let joined: String = toks[i..=j].concat();
            toks.splice(i..=j, std::iter::once(joined));
        }
        i += 1;
    }
    toks
}

/// A short phonetic key for blocking, tuned for Indonesian names.
///
/// Rules: only ASCII letters count; digraphs `kh`/`ch`→`h`, `sy`/`sj`→`s`, `ph`→`p`, `dz`→`j`,
/// `dh`→`d`, `th`→`t`, `gh`→`g`, `ck`→`k`, `dj`→`j`, `tj`→`c`, `oe`→`u`; letters `f`/`v`→`p`,
/// `z`→`j`, `q`→`k`, `x`→`ks`, `y`→`i`; doubled letters collapse; the first letter is kept (any
/// first vowel becomes `a`); later vowels and `h` are dropped; a final `d` becomes `t`
/// (`Ahmad`/`Ahmat`); at most 8 characters. So `Muhammad`, `Muhamad`, `Mohammad` → `mmt`;
/// `Fatimah`, `Fatima`, `Patima` → `ptm`; `Yusuf`, `Yusup` → `asp`.
pub fn phonetic(token: &str) -> String {
    let b = token.as_bytes();
    let at = |i: usize| b.get(i).map(u8::to_ascii_lowercase);
    let is_vowel = |c: u8| matches!(c, b'a' | b'e' | b'i' | b'o' | b'u');
    let mut out = String::with_capacity(8);
    let mut prev = 0u8;
    let mut emit = |c: u8, out: &mut String| {
        if out.is_empty() {
            out.push(if is_vowel(c) { 'a' } else { c as char });
        } else if c != prev && !is_vowel(c) && c != b'h' && out.len() < 8 {
            out.push(c as char);
        }
        prev = c;
    };
    let mut i = 0;
    while i < b.len() && out.len() < 8 {
        let Some(c) = at(i).filter(u8::is_ascii_alphabetic) else {
            i += 1;
            continue;
        };
        let two = match (c, at(i + 1)) {
            (b'k' | b'c', Some(b'h')) => Some(b'h'),
            (b's', Some(b'y' | b'j')) => Some(b's'),
            (b'p', Some(b'h')) => Some(b'p'),
            (b'd', Some(b'z' | b'j')) => Some(b'j'),
            (b'd' | b't' | b'g', Some(b'h')) => Some(c),
            (b'c', Some(b'k')) => Some(b'k'),
            (b't', Some(b'j')) => Some(b'c'),
            (b'o', Some(b'e')) => Some(b'u'),
            _ => None,
        };
        if let Some(r) = two {
            emit(r, &mut out);
            i += 2;
            continue;
        }
        match c {
            b'f' | b'v' => emit(b'p', &mut out),
            b'z' => emit(b'j', &mut out),
            b'q' => emit(b'k', &mut out),
            b'x' => {
                emit(b'k', &mut out);
                emit(b's', &mut out);
            }
            b'y' => emit(b'i', &mut out),
            _ => emit(c, &mut out),
        }
        i += 1;
    }
    if out.len() > 1 && out.ends_with('d') {
        out.pop();
        out.push('t');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn canon(raw: &str) -> Option<String> {
        normalize(raw).map(|n| n.canonical())
    }

    #[test]
    fn canonical_table() {
        let rows: &[(&str, Option<&str>)] = &[
            ("", None),
            ("   ", None),
            ("...", None),
            ("Budi", Some("budi")),
            ("  BUDI   Santoso ", Some("budi santoso")),
            ("Budi Santoso", Some("budi santoso")),
            ("Andréas Nguyễn", Some("andreas nguyen")),
            ("Ma'ruf Amin", Some("maruf amin")),
            ("Abdul-Rahman", Some("abdul rahman")),
            // titles anywhere
            ("Hj. Aminah", Some("aminah")),
            ("Hajjah Aminah", Some("aminah")),
            ("Haji Agus Salim", Some("agus salim")),
            ("Hadji Agus Salim", Some("agus salim")),
            ("H. Agus Salim", Some("agus salim")),
            ("H Agus Salim", Some("agus salim")),
            ("Ibu Sulastri", Some("sulastri")),
            ("Bu Sulastri", Some("sulastri")),
            ("Bpk. Joko", Some("joko")),
            ("Bapak Joko Widodo", Some("joko widodo")),
            ("Pak Joko", Some("joko")),
            ("Sdr. Andi", Some("andi")),
            ("Sdri. Rina", Some("rina")),
            ("Saudara Andi", Some("andi")),
            ("Saudari Rina", Some("rina")),
            ("Tn. Hasan", Some("hasan")),
            ("Tuan Hasan", Some("hasan")),
            ("Ny. Ratna", Some("ratna")),
            ("Nyonya Ratna", Some("ratna")),
            ("Njonja Ratna", Some("ratna")),
            ("Nn. Dewi", Some("dewi")),
            ("Dr. Budi", Some("budi")),
            ("dr. Budi", Some("budi")),
            ("Ir. Sukarno", Some("sukarno")),
            ("Drs. Ahmad", Some("ahmad")),
            ("Dra. Ratna", Some("ratna")),
            ("Prof. Dr. Ir. H. Budi", Some("budi")),
            ("KH Ahmad Dahlan", Some("ahmad dahlan")),
            ("K.H. Ahmad Dahlan", Some("ahmad dahlan")),
            ("Raden Ajeng Kartini", Some("ajeng kartini")),
            ("R.A. Kartini", Some("kartini")),
            ("R. Soeprapto", Some("suprapto")),
            ("Rd. Suprapto", Some("suprapto")),
            ("Budi Hj", Some("budi")),
            ("Hj.", None),
            ("Ibu", None),
            // single letters after the first token are initials
            ("Budi H.", Some("budi h")),
            ("Siti R. Aminah", Some("siti r aminah")),
            ("A. Rahman", Some("a rahman")),
            ("Agus H Salim", Some("agus h salim")),
            // degrees
            ("Budi, S.H.", Some("budi")),
            ("Budi S.H.", Some("budi")),
            ("Budi SH", Some("budi")),
            ("Budi Santoso, S.Pd., M.Pd.", Some("budi santoso")),
            ("Budi Santoso, S. Pd", Some("budi santoso")),
            ("Rina S.E.", Some("rina")),
            ("Rina S.Kom", Some("rina")),
            ("Ahmad S.Ag.", Some("ahmad")),
            ("Ahmad, M.M.", Some("ahmad")),
            ("Dewi A.Md.", Some("dewi")),
            ("Dewi Amd", Some("dewi")),
            ("Dewi S.Kep", Some("dewi")),
            ("Dewi, A.Md.Keb.", Some("dewi")),
            ("Ahmad M.A.", Some("ahmad")),
            ("Ahmad Ma", Some("ahmad ma")),
            ("Santoso, Budi", Some("santoso budi")),
            // patronym
            ("Ahmad bin Umar", Some("ahmad")),
            ("Siti binti Umar", Some("siti")),
            ("Siti Bt. Umar", Some("siti")),
            ("Bin Laden", Some("bin laden")),
            // Muhammad
            ("Muhammad Yusuf", Some("muhammad yusuf")),
            ("Mohammad Yusuf", Some("muhammad yusuf")),
            ("Muhamad Yusuf", Some("muhammad yusuf")),
            ("Mohamad Yusuf", Some("muhammad yusuf")),
            ("Mohamed Yusuf", Some("muhammad yusuf")),
            ("Muhammed Yusuf", Some("muhammad yusuf")),
            ("Mochamad Yusuf", Some("muhammad yusuf")),
            ("Mochammad Yusuf", Some("muhammad yusuf")),
            ("Mokhamad Yusuf", Some("muhammad yusuf")),
            ("Moehammad Yusuf", Some("muhammad yusuf")),
            ("Moch. Yusuf", Some("muhammad yusuf")),
            ("Moh. Yusuf", Some("muhammad yusuf")),
            ("Mohd Yusuf", Some("muhammad yusuf")),
            ("Muh. Yusuf", Some("muhammad yusuf")),
            ("Mhd. Yusuf", Some("muhammad yusuf")),
            ("M. Yusuf", Some("muhammad yusuf")),
            ("M Yusuf", Some("muhammad yusuf")),
            ("M.Yusuf", Some("muhammad yusuf")),
            ("H. M. Yusuf", Some("muhammad yusuf")),
            ("Yusuf M", Some("yusuf m")),
            ("Mahmud", Some("mahmud")),
            ("Muammar", Some("muammar")),
            ("Abdul Mochamad", Some("abdul muhammad")),
            // old spellings
            ("Soekarno", Some("sukarno")),
            ("Djoko Tjahjono", Some("joko cahjono")),
            ("Sjahrir", Some("syahrir")),
            ("Achmad", Some("akhmad")),
            ("Soenjoto", Some("sunyoto")),
            ("Tjoet Nja Dhien", Some("cut nya dhien")),
            // Nur / Siti / Sri joined
            ("Siti Nurhaliza", Some("sitinurhaliza")),
            ("Sitinurhaliza", Some("sitinurhaliza")),
            ("Siti Nur Haliza", Some("sitinurhaliza")),
            ("Nur Aini", Some("nuraini")),
            ("Nuraini", Some("nuraini")),
            ("Sri Mulyani", Some("srimulyani")),
            ("Nurul Huda", Some("nurulhuda")),
            ("Nurdin Halid", Some("nurdin halid")),
            ("Aini Nur", Some("aini nur")),
            ("St. Aminah", Some("sitiaminah")),
            ("Nur M. Yusuf", Some("nur m yusuf")),
            (
                "Hj. Siti Nurhaliza binti H. Abdul Rahman",
                Some("sitinurhaliza"),
            ),
            // digits
            ("Budi 2", Some("budi")),
            ("12345", None),
        ];
        for (input, want) in rows {
            assert_eq!(canon(input).as_deref(), *want, "row {input:?}");
        }
    }

    #[test]
    fn patronym_table() {
        let rows: &[(&str, Option<&str>)] = &[
            ("Ahmad bin Umar", Some("umar")),
            ("Ahmad Bin. Umar", Some("umar")),
            ("Siti binti H. Abdoel Rachman", Some("abdul rakhman")),
            ("Siti bte Ali", Some("ali")),
            ("Siti binte Ali", Some("ali")),
            ("Siti bt Ali", Some("ali")),
            ("Ahmad bin Mochamad Ali", Some("muhammad ali")),
            ("Ahmad bin", None),
            ("Ahmad bin Hj.", None),
            ("Ahmad Umar", None),
            ("Bin Laden", None),
        ];
        for (input, want) in rows {
            assert_eq!(
                normalize(input).unwrap().patronym.as_deref(),
                *want,
                "row {input:?}"
            );
        }
    }

    #[test]
    fn sorted_key_ignores_order() {
        let a = normalize("Budi Santoso").unwrap();
        let b = normalize("SANTOSO, Budi").unwrap();
        assert_eq!(a.sorted_key(), b.sorted_key());
        assert_eq!(a.sorted_key(), "budi santoso");
    }

    #[test]
    fn phonetic_table() {
        let rows: &[(&str, &str)] = &[
            ("muhammad", "mmt"),
            ("muhamad", "mmt"),
            ("mohammad", "mmt"),
            ("fatimah", "ptm"),
            ("fatima", "ptm"),
            ("patima", "ptm"),
            ("yusuf", "asp"),
            ("yusup", "asp"),
            ("ahmad", "amt"),
            ("akhmad", "amt"),
            ("achmad", "amt"),
            ("ahmat", "amt"),
            ("hasan", "hsn"),
            ("hassan", "hsn"),
            ("dewi", "dw"),
            ("dewy", "dw"),
            ("zulkifli", "jlkpl"),
            ("dzulkifli", "jlkpl"),
            ("syahrir", "srr"),
            ("sjahrir", "srr"),
            ("sahrir", "srr"),
            ("soekarno", "skrn"),
            ("sukarno", "skrn"),
            ("khadijah", "hdj"),
            ("hadijah", "hdj"),
            ("rizky", "rjk"),
            ("rizki", "rjk"),
            ("risky", "rsk"),
            ("vina", "pn"),
            ("fina", "pn"),
            ("taufik", "tpk"),
            ("taufiq", "tpk"),
            ("", ""),
            ("123", ""),
        ];
        for (input, want) in rows {
            assert_eq!(phonetic(input), *want, "row {input:?}");
        }
    }

    proptest! {
        #[test]
        fn idempotent(s in "((Hj\\.|H\\.|M\\.|Moch|Siti|Nur|bin|binti|S\\.H\\.|,|[A-Za-zé']{1,8}|dj|oe|tj) ){0,6}") {
            if let Some(once) = normalize(&s) {
                let twice = normalize(&once.canonical()).expect("canonical is usable");
                prop_assert_eq!(twice.tokens, once.tokens);
            }
        }

        #[test]
        fn idempotent_any(s in "\\PC{0,30}") {
            if let Some(once) = normalize(&s) {
                let twice = normalize(&once.canonical()).expect("canonical is usable");
                prop_assert_eq!(twice.tokens, once.tokens);
            }
        }
    }
}

#[cfg(test)]
mod speed {
    /// Rough timing (`cargo test --release --lib speed -- --ignored --nocapture`); the real
    /// benchmark belongs to benches/.
    #[test]
    #[ignore]
    fn names_per_second() {
        let names = [
            "Hj. Siti Nurhaliza binti H. Abdul Rahman",
            "BUDI SANTOSO, S.Pd.",
            "Mochamad Yusuf",
            "Dewi Lestari",
            "Soekarno",
            "Agus",
            "Ny. Sri Mulyani Indrawati",
            "Ahmad bin Umar",
        ];
        let n = 200_000;
        let t = std::time::Instant::now();
        let mut k = 0usize;
        for i in 0..n {
            k += super::normalize(names[i % names.len()]).map_or(0, |x| x.tokens.len());
        }
        let per = t.elapsed().as_nanos() as f64 / n as f64;
        let t = std::time::Instant::now();
        for i in 0..n {
            k += super::phonetic(["muhammad", "sitinurhaliza", "yusuf"][i % 3]).len();
        }
        let ph = t.elapsed().as_nanos() as f64 / n as f64;
        println!("name::normalize {per:.0} ns/name, phonetic {ph:.0} ns/token ({k})");
    }
}
