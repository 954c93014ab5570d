//! The PGP word list (Zimmermann and Juola, 1995), also called the biometric word list.
//!
//! Two fixed lists of 256 words, one per byte value, chosen to sound as unlike each other as
//! possible so that two people can read a digest to each other without mishearing it. Bytes at
//! even positions (0, 2, 4, ...) take a two-syllable word, bytes at odd positions a
//! three-syllable word: a dropped, repeated or swapped word then breaks the rhythm and is heard.
//!
//! The words are spelled as published (a few are proper nouns with a capital); PGP and other
//! tools print the same words for the same bytes, so an operator can cross-check with them.

/// The two-syllable words, for bytes at even positions, indexed by byte value.
#[rustfmt::skip]
pub const EVEN_WORDS: [&str; 256] = [
    // 0x00
    "aardvark", "absurd", "accrue", "acme", "adrift", "adult", "afflict", "ahead",
    "aimless", "Algol", "allow", "alone", "ammo", "ancient", "apple", "artist",
    // 0x10
    "assume", "Athens", "atlas", "Aztec", "baboon", "backfield", "backward", "banjo",
    "beaming", "bedlamp", "beehive", "beeswax", "befriend", "Belfast", "berserk", "billiard",
    // 0x20
    "bison", "blackjack", "blockade", "blowtorch", "bluebird", "bombast", "bookshelf",
    "brackish", "breadline", "breakup", "brickyard", "briefcase", "Burbank", "button",
    "buzzard", "cement",
    // 0x30
    "chairlift", "chatter", "checkup", "chisel", "choking", "chopper", "Christmas",
    "clamshell", "classic", "classroom", "cleanup", "clockwork", "cobra", "commence",
    "concert", "cowbell",
    // 0x40
    "crackdown", "cranky", "crowfoot", "crucial", "crumpled", "crusade", "cubic", "dashboard",
    "deadbolt", "deckhand", "dogsled", "dragnet", "drainage", "dreadful", "drifter", "dropper",
    // 0x50
    "drumbeat", "drunken", "Dupont", "dwelling", "eating", "edict", "egghead", "eightball",
    "endorse", "endow", "enlist", "erase", "escape", "exceed", "eyeglass", "eyetooth",
    // 0x60
    "facial", "fallout", "flagpole", "flatfoot", "flytrap", "fracture", "framework", "freedom",
    "frighten", "gazelle", "Geiger", "glitter", "glucose", "goggles", "goldfish", "gremlin",
    // 0x70
    "guidance", "hamlet", "highchair", "hockey", "indoors", "indulge", "inverse", "involve",
    "island", "jawbone", "keyboard", "kickoff", "kiwi", "klaxon", "locale", "lockup",
    // 0x80
    "merit", "minnow", "miser", "Mohawk", "mural", "music", "necklace", "Neptune",
    "newborn", "nightbird", "Oakland", "obtuse", "offload", "optic", "orca", "payday",
    // 0x90
    "peachy", "pheasant", "physique", "playhouse", "Pluto", "preclude", "prefer", "preshrunk",
    "printer", "prowler", "pupil", "puppy", "python", "quadrant", "quiver", "quota",
    // 0xa0
    "ragtime", "ratchet", "rebirth", "reform", "regain", "reindeer", "rematch", "repay",
    "retouch", "revenge", "reward", "rhythm", "ribcage", "ringbolt", "robust", "rocker",
    // 0xb0
    "ruffled", "sailboat", "sawdust", "scallion", "scenic", "scorecard", "Scotland", "seabird",
    "select", "sentence", "shadow", "shamrock", "showgirl", "skullcap", "skydive", "slingshot",
    // 0xc0
    "slowdown", "snapline", "snapshot", "snowcap", "snowslide", "solo", "southward", "soybean",
    "spaniel", "spearhead", "spellbind", "spheroid", "spigot", "spindle", "spyglass",
    "stagehand",
    // 0xd0
    "stagnate", "stairway", "standard", "stapler", "steamship", "sterling", "stockman",
    "stopwatch", "stormy", "sugar", "surmount", "suspense", "sweatband", "swelter", "tactics",
    "talon",
    // 0xe0
    "tapeworm", "tempest", "tiger", "tissue", "tonic", "topmost", "tracker", "transit",
    "trauma", "treadmill", "Trojan", "trouble", "tumor", "tunnel", "tycoon", "uncut",
    // 0xf0
    "unearth", "unwind", "uproot", "upset", "upshot", "vapor", "village", "virus",
    "Vulcan", "waffle", "wallet", "watchword", "wayside", "willow", "woodlark", "Zulu",
];

/// The three-syllable words, for bytes at odd positions, indexed by byte value.
#[rustfmt::skip]
pub const ODD_WORDS: [&str; 256] = [
    // 0x00
    "adroitness", "adviser", "aftermath", "aggregate", "alkali", "almighty", "amulet",
    "amusement", "antenna", "applicant", "Apollo", "armistice", "article", "asteroid",
    "Atlantic", "atmosphere",
    // 0x10
    "autopsy", "Babylon", "backwater", "barbecue", "belowground", "bifocals", "bodyguard",
    "bookseller", "borderline", "bottomless", "Bradbury", "bravado", "Brazilian", "breakaway",
    "Burlington", "businessman",
    // 0x20
    "butterfat", "Camelot", "candidate", "cannonball", "Capricorn", "caravan", "caretaker",
    "celebrate", "cellulose", "certify", "chambermaid", "Cherokee", "Chicago", "clergyman",
    "coherence", "combustion",
    // 0x30
    "commando", "company", "component", "concurrent", "confidence", "conformist",
    "congregate", "consensus", "consulting", "corporate", "corrosion", "councilman",
    "crossover", "crucifix", "cumbersome", "customer",
    // 0x40
    "Dakota", "decadence", "December", "decimal", "designing", "detector", "detergent",
    "determine", "dictator", "dinosaur", "direction", "disable", "disbelief", "disruptive",
    "distortion", "document",
    // 0x50
    "embezzle", "enchanting", "enrollment", "enterprise", "equation", "equipment", "escapade",
    "Eskimo", "everyday", "examine", "existence", "exodus", "fascinate", "filament", "finicky",
    "forever",
    // 0x60
    "fortitude", "frequency", "gadgetry", "Galveston", "getaway", "glossary", "gossamer",
    "graduate", "gravity", "guitarist", "hamburger", "Hamilton", "handiwork", "hazardous",
    "headwaters", "hemisphere",
    // 0x70
    "hesitate", "hideaway", "holiness", "hurricane", "hydraulic", "impartial", "impetus",
    "inception", "indigo", "inertia", "infancy", "inferno", "informant", "insincere",
    "insurgent", "integrate",
    // 0x80
    "intention", "inventive", "Istanbul", "Jamaica", "Jupiter", "leprosy", "letterhead",
    "liberty", "maritime", "matchmaker", "maverick", "Medusa", "megaton", "microscope",
    "microwave", "midsummer",
    // 0x90
    "millionaire", "miracle", "misnomer", "molasses", "molecule", "Montana", "monument",
    "mosquito", "narrative", "nebula", "newsletter", "Norwegian", "October", "Ohio",
    "onlooker", "opulent",
    // 0xa0
    "Orlando", "outfielder", "Pacific", "pandemic", "Pandora", "paperweight", "paragon",
    "paragraph", "paramount", "passenger", "pedigree", "Pegasus", "penetrate", "perceptive",
    "performance", "pharmacy",
    // 0xb0
    "phonetic", "photograph", "pioneer", "pocketful", "politeness", "positive", "potato",
    "processor", "provincial", "proximate", "puberty", "publisher", "pyramid", "quantity",
    "racketeer", "rebellion",
    // 0xc0
    "recipe", "recover", "repellent", "replica", "reproduce", "resistor", "responsive",
    "retraction", "retrieval", "retrospect", "revenue", "revival", "revolver", "sandalwood",
    "sardonic", "Saturday",
    // 0xd0
    "savagery", "scavenger", "sensation", "sociable", "souvenir", "specialist", "speculate",
    "stethoscope", "stupendous", "supportive", "surrender", "suspicious", "sympathy",
    "tambourine", "telephone", "therapist",
    // 0xe0
    "tobacco", "tolerance", "tomorrow", "torpedo", "tradition", "travesty", "trombonist",
    "truncated", "typewriter", "ultimate", "undaunted", "underfoot", "unicorn", "unify",
    "universe", "unravel",
    // 0xf0
    "upcoming", "vacancy", "vagabond", "vertigo", "Virginia", "visitor", "vocalist", "voyager",
    "warranty", "Waterloo", "whimsical", "Wichita", "Wilmington", "Wyoming", "yesteryear",
    "Yucatan",
];

/// The word for `byte` at `position` (counted from 0) in a sequence of bytes.
pub fn word(position: usize, byte: u8) -> &'static str {
    let list = if position.is_multiple_of(2) { &EVEN_WORDS } else { &ODD_WORDS };
    list[usize::from(byte)]
}

/// The words for `bytes`, one a byte, alternating between the two lists.
pub fn words(bytes: &[u8]) -> Vec<&'static str> {
    bytes.iter().enumerate().map(|(i, &b)| word(i, b)).collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn known_bytes_map_to_their_published_words() {
        let cases = [
            (0x00, "aardvark", "adroitness"),
            (0x01, "absurd", "adviser"),
            (0x5c, "escape", "fascinate"),
            (0x80, "merit", "intention"),
            (0xa7, "repay", "paragraph"),
            (0xd2, "standard", "sensation"),
            (0xfe, "woodlark", "yesteryear"),
            (0xff, "Zulu", "Yucatan"),
        ];
        for (byte, even, odd) in cases {
            assert_eq!(word(0, byte), even, "byte {byte:#04x} at an even position");
            assert_eq!(word(1, byte), odd, "byte {byte:#04x} at an odd position");
        }
    }

    /// The example that accompanies the list wherever it is published: a PGP key fingerprint
    /// and the twenty words PGP reads for it.
    #[test]
    fn published_fingerprint_example() {
        let fingerprint = hex::decode("E58294F2E9A227486E8B061B31CC528FD7FA3F19").unwrap();
        let expected = "topmost Istanbul Pluto vagabond treadmill Pacific brackish dictator \
                        goldfish Medusa afflict bravado chatter revolver Dupont midsummer \
                        stopwatch whimsical cowbell bottomless";
        assert_eq!(words(&fingerprint).join(" "), expected);
    }

    #[test]
    fn all_512_words_are_distinct_even_ignoring_case() {
        let all: BTreeSet<String> =
            EVEN_WORDS.iter().chain(ODD_WORDS.iter()).map(|w| w.to_lowercase()).collect();
        assert_eq!(all.len(), 512);
    }

    #[test]
    fn words_are_plain_letters() {
        for w in EVEN_WORDS.iter().chain(ODD_WORDS.iter()) {
            assert!(!w.is_empty() && w.chars().all(|c| c.is_ascii_alphabetic()), "{w:?}");
        }
    }
}
