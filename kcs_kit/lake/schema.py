"""The canonical schema of clearance records (one row = one declared goods item).

Documented in docs/LAKE.md; outside tools read it, so keep it stable. Source layouts map onto it by
header aliases (the English KCS dataset headers and the Korean declaration-form item names are built in)
or by an explicit ``--map canonical=source``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kcs_kit.errors import SchemaError


@dataclass(frozen=True)
class Column:
    name: str
    sql_type: str
    help: str
    aliases: tuple[str, ...] = ()
    required: bool = False


COLUMNS: tuple[Column, ...] = (
    Column("declaration_id", "VARCHAR", "Unique declaration (goods item) ID, 1-40 of A-Z a-z 0-9 _ -",
           ("Declaration ID", "신고번호"), required=True),
    Column("declared_on", "DATE", "Declaration date, YYYY-MM-DD or YYYYMMDD", ("Date", "신고일자"),
           required=True),
    Column("office_id", "VARCHAR", "Customs office code (40 Incheon airport, 20 Incheon port, 30 Busan...)",
           ("Office ID", "신고세관")),
    Column("process_type", "VARCHAR", "Declaration process type (A/B/C/D)", ("Process Type", "신고구분")),
    Column("import_type", "VARCHAR", "Transaction type code (11 ordinary import...)", ("Import Type", "거래구분")),
    Column("import_use", "VARCHAR", "Import kind code (21 domestic use...)", ("Import Use", "수입종류")),
    Column("payment_type", "VARCHAR", "Duty-collection form code", ("Payment Type", "징수형태")),
    Column("transport_mode", "VARCHAR", "10 sea, 20 rail, 30 road, 40 air, 50 mail, 90 other",
           ("Mode of Transport", "운송수단")),
    Column("declarant_id", "VARCHAR", "Declarant (customs broker) ID", ("Declarant ID", "신고인부호")),
    Column("importer_id", "VARCHAR", "Importer ID", ("Importer ID", "수입자 통관고유부호", "수입자")),
    Column("seller_id", "VARCHAR", "Overseas seller ID", ("Seller ID", "해외거래처 부호", "해외거래처")),
    Column("courier_id", "VARCHAR", "Express courier ID (express cargo only)", ("Courier ID", "특송업체부호")),
    Column("hs6", "VARCHAR", "HS code, first 6 digits, as text with leading zeros", ("HS6 Code", "HS부호"),
           required=True),
    Column("departure_country", "VARCHAR", "Country of departure, ISO 3166-1 alpha-2",
           ("Country of Departure", "적출국가코드")),
    Column("origin_country", "VARCHAR", "Country of origin, ISO 3166-1 alpha-2",
           ("Country of Origin", "원산지코드"), required=True),
    Column("tax_rate", "DOUBLE", "Duty rate in % (>= 0)", ("Tax Rate", "관세율")),
    Column("tax_type", "VARCHAR", "Duty-rate type (A basic, C WTO, F*** FTA...)", ("Tax Type", "관세구분")),
    Column("origin_indicator", "VARCHAR", "Origin marking (B/E/G/N/S/Y)",
           ("Country of Origin Indicator", "원산지 표시유무")),
    Column("net_mass_kg", "DOUBLE", "Net mass in kg (>= 0)", ("Net Mass", "총중량")),
    Column("item_price_krw", "DOUBLE", "Customs value in KRW (>= 0; 0 = missing)",
           ("Item Price", "과세가격(원화)", "과세가격")),
    Column("fraud", "TINYINT", "1 if inspection found the declaration wrong, else 0", ("Fraud",)),
    Column("critical_fraud", "TINYINT", "0 none, 1 minor, 2 critical", ("Critical Fraud",)),
)
# Added by the lake to every row: partition keys and lineage.
LINEAGE: tuple[Column, ...] = (
    Column("year", "SMALLINT", "Partition: year of declared_on"),
    Column("month", "TINYINT", "Partition: month of declared_on"),
    Column("ingest_id", "VARCHAR", "The ingest that added the row (table lake_ingests)"),
    Column("source_line", "BIGINT", "Line of the row in its source file (header = line 1)"),
)
CANONICAL = {c.name: c for c in COLUMNS}
TRANSPORT_MODES = {"10": "sea", "20": "rail", "30": "road", "40": "air", "50": "mail", "90": "other"}

# ISO 3166-1 alpha-2 (officially assigned), plus ZZ = unknown (user-assigned; used by KCS data).
ISO_COUNTRIES = frozenset(
    """AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV
    BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET
    FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM
    IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD
    ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE
    PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST
    SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS
    YE YT ZA ZM ZW ZZ""".split()
)


def normalize_header(name: str) -> str:
    """'HS6 Code' -> 'hs6_code'; '신고세관 [CODE]' -> '신고세관'; BOM and spaces removed."""
    name = name.replace("\ufeff", "").strip()
    name = re.sub(r"\[code\]", "", name, flags=re.IGNORECASE)
    name = re.sub(r"\s+", " ", name).strip()
    return re.sub(r"[^0-9a-z가-힣()]+", "_", name.lower()).strip("_")


_ALIASES = {normalize_header(a): c.name for c in COLUMNS for a in (c.name, *c.aliases)}


def parse_mapping(items: list[str] | tuple[str, ...] | None) -> dict[str, str]:
    """['hs6=HS Code', ...] -> {'hs6': 'HS Code'}; canonical names are checked."""
    mapping: dict[str, str] = {}
    for item in items or ():
        canonical, sep, source = item.partition("=")
        canonical = canonical.strip()
        if not sep or not source.strip():
            raise SchemaError(f"--map {item!r}: expected canonical=source, e.g. hs6='HS Code'")
        if canonical not in CANONICAL:
            raise SchemaError(
                f"--map {item!r}: {canonical!r} is not a canonical column",
                hint=f"canonical columns: {', '.join(CANONICAL)}",
            )
        mapping[canonical] = source.strip()
    return mapping


def resolve_columns(source: str, header: list[str], mapping: dict[str, str] | None = None) -> dict[str, str]:
    """Map canonical column -> source header name; raise SchemaError naming what is missing."""
    mapping = dict(mapping or {})
    resolved: dict[str, str] = {}
    for canonical, src in mapping.items():
        if src not in header:
            raise SchemaError(
                f"{source}: --map {canonical}={src!r} names a column the file does not have",
                hint=f"the file's columns are: {', '.join(header)}",
            )
        resolved[canonical] = src
    taken = set(resolved.values())
    for name in header:
        alias = _ALIASES.get(normalize_header(name))
        if alias and alias not in resolved and name not in taken:
            resolved[alias] = name
    missing = [c.name for c in COLUMNS if c.required and c.name not in resolved]
    if missing:
        raise SchemaError(
            f"{source}: required column(s) {', '.join(missing)} not found; the file has: {', '.join(header)}",
            hint="name them with --map, e.g. --map " + " ".join(f"{m}=<column>" for m in missing),
        )
    return resolved


def empty_select() -> str:
    """SQL for an empty relation with the lake's typed columns (the view before the first ingest)."""
    cols = ", ".join(f"CAST(NULL AS {c.sql_type}) AS {c.name}" for c in (*COLUMNS, *LINEAGE))
    return f"SELECT {cols} WHERE false"
