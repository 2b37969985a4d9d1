"""Obviously fictitious names, places and identifiers.

Surnames are built from invented syllables so that no generated person can be mistaken for a real
one; SSNs are in the 9xx range the Social Security Administration never issues; phone numbers use
the 555-01xx block reserved for fiction; e-mail addresses use the reserved example domains.
"""

from __future__ import annotations

from random import Random

FIRST_MALE = (
    "Aaron", "Adrian", "Alden", "Amos", "Anders", "Arlo", "August", "Barrett", "Bennett", "Brooks",
    "Caleb", "Calvin", "Cedric", "Clement", "Colby", "Conrad", "Dalton", "Damon", "Dashiell", "Deacon",
    "Desmond", "Dorian", "Easton", "Elias", "Emmett", "Ezra", "Felix", "Finnegan", "Gideon", "Grady",
    "Harlan", "Hollis", "Ignatius", "Ivan", "Jasper", "Jethro", "Judson", "Kellan", "Lamar", "Lennox",
    "Lucius", "Marcus", "Milo", "Montgomery", "Nash", "Nolan", "Orson", "Otis", "Percival", "Quincy",
    "Rafferty", "Reuben", "Roscoe", "Rufus", "Sawyer", "Silas", "Thaddeus", "Tobias", "Ulysses",
    "Vernon", "Wendell", "Wilder", "Xavier", "Zane",
)  # fmt: skip

FIRST_FEMALE = (
    "Adelaide", "Alma", "Annabel", "Beatrix", "Bernadette", "Calla", "Cecily", "Clementine", "Cora",
    "Dahlia", "Delphine", "Edith", "Eloise", "Esme", "Fern", "Florence", "Georgia", "Greta", "Harriet",
    "Hazel", "Imogen", "Iris", "Josephine", "Juniper", "Lavinia", "Lorelei", "Lucinda", "Mabel",
    "Marigold", "Maxine", "Nell", "Octavia", "Opal", "Pearl", "Philippa", "Rosalind", "Ruby",
    "Seraphina", "Sybil", "Tabitha", "Theodora", "Una", "Verity", "Violet", "Wilhelmina", "Winifred",
)  # fmt: skip

_SURNAME_HEADS = (
    "Ash", "Bramble", "Brindle", "Cobble", "Crumple", "Dapple", "Ember", "Fennel", "Figg", "Flint",
    "Gorse", "Grizzle", "Hazel", "Heather", "Juniper", "Kettle", "Lark", "Loam", "Marrow", "Mossy",
    "Nettle", "Oaken", "Pebble", "Pickle", "Quill", "Rook", "Rumble", "Saffron", "Sorrel", "Thistle",
    "Tumble", "Umber", "Vetch", "Wick", "Willow", "Wren", "Yarrow", "Zephyr",
)  # fmt: skip

_SURNAME_TAILS = (
    "back", "berry", "bottom", "brook", "bury", "by", "combe", "dale", "down", "feather", "field",
    "foot", "ford", "gate", "grove", "ham", "hollow", "hurst", "ington", "kin", "ley", "mere",
    "more", "nock", "shaw", "stead", "thorpe", "ton", "vale", "well", "whistle", "wick", "worth",
)  # fmt: skip

SURNAMES = tuple(head + tail for head in _SURNAME_HEADS for tail in _SURNAME_TAILS)

NICKNAMES = (
    "Ace",
    "Bear",
    "Boots",
    "Buddy",
    "Chip",
    "Dutch",
    "Junior",
    "Lucky",
    "Red",
    "Slim",
    "Sonny",
    "Tex",
)

STREETS = (
    "Amberleaf Lane", "Bellwether Road", "Candlewick Court", "Dovetail Drive", "Elderflower Way",
    "Foxglove Street", "Goldcrest Avenue", "Hollyhock Road", "Inkberry Lane", "Jackdaw Street",
    "Kingfisher Court", "Lanternlight Drive", "Meadowsweet Avenue", "Nightjar Road", "Orchard Hollow",
    "Pennywhistle Lane", "Quarrystone Road", "Riverbend Drive", "Starling Street", "Tanglewood Avenue",
)  # fmt: skip

#: Invented counties, each with its seat and a two-letter code used in cause numbers.
COUNTIES: tuple[tuple[str, str, str], ...] = (
    ("Alderbrook", "Fairhaven", "AB"), ("Bellmont", "Bellmont City", "BM"), ("Briarwood", "Thornbury", "BW"),
    ("Cedar Hollow", "Cedarville", "CH"), ("Coldwater", "Millbrook", "CW"), ("Crestline", "Summitville", "CL"),
    ("Dunmore", "Dunmore Springs", "DM"), ("Eastvale", "Eastvale", "EV"), ("Elkhorn", "Antler Falls", "EH"),
    ("Fallow", "Harrowgate", "FA"), ("Foxrun", "Vixen", "FR"), ("Glenmoor", "Glen Ellis", "GM"),
    ("Greystone", "Slate Ridge", "GS"), ("Harrow", "Harrow Cross", "HA"), ("Hearthside", "Emberly", "HS"),
    ("Ironwood", "Forgeton", "IW"), ("Juniper", "Berryton", "JU"), ("Kestrel", "Talon", "KE"),
    ("Larkspur", "Bluebell", "LS"), ("Lowmarsh", "Reedville", "LM"), ("Maplewood", "Sugar Grove", "MW"),
    ("Marrowfield", "Cornhill", "MF"), ("Northgate", "Port Northgate", "NG"), ("Oakhurst", "Acorn", "OH"),
    ("Pinecrest", "Timberline", "PC"), ("Quarry", "Stonebridge", "QU"), ("Redfern", "Ferndale", "RF"),
    ("Riverbend", "Two Rivers", "RB"), ("Saltlick", "Brinemoor", "SL"), ("Stillwater", "Calm Harbor", "SW"),
    ("Thornapple", "Crabtree", "TA"), ("Upland", "High Prairie", "UP"), ("Valeview", "Overlook", "VV"),
    ("Westmarch", "Sundown", "WM"), ("Willowmere", "Weeping Rock", "WI"), ("Yellowbank", "Goldbar", "YB"),
)  # fmt: skip

COUNTY_NAMES = tuple(f"{name} County" for name, _, _ in COUNTIES)

#: The telephone area codes of the invented state.
AREA_CODES = ("573", "636", "660", "816", "417", "314")


def first_name(rng: Random, sex: str) -> str:
    return rng.choice(FIRST_FEMALE if sex == "F" else FIRST_MALE)


def surname(rng: Random) -> str:
    return rng.choice(SURNAMES)


def full_name(rng: Random, sex: str | None = None) -> str:
    return f"{first_name(rng, sex or rng.choice('FM'))} {surname(rng)}"


def fake_ssn(rng: Random) -> str:
    """An SSN in the 900-999 area, which is never issued."""
    return f"9{rng.randrange(100):02d}-{rng.randrange(1, 100):02d}-{rng.randrange(1, 10000):04d}"


def fake_phone(rng: Random) -> str:
    """A number in the 555-0100..555-0199 block reserved for fiction."""
    return f"({rng.choice(AREA_CODES)}) 555-01{rng.randrange(100):02d}"


def fake_email(first: str, last: str, rng: Random) -> str:
    domain = rng.choice(("example.com", "example.net", "example.org"))
    return f"{first.lower()}.{last.lower()}{rng.randrange(100)}@{domain}"


def street_address(rng: Random) -> str:
    return f"{rng.randrange(100, 9900)} {rng.choice(STREETS)}"


def postal_code(county_index: int, rng: Random) -> str:
    return f"6{county_index:02d}{rng.randrange(100):02d}"
