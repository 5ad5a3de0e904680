//! The demo register behind `serve --demo`: a small city hall with Romanian names, several
//! tax types with priorities, people with several debts and a firm with a CIF. It is
//! loaded through the real CSV importer, so the demo also shows the import formats.

use crate::import::{import, Kind, Options};
use crate::store::Store;

/// The key the demo server signs with. Only for the demo: never use it in production.
pub const DEMO_KEY: &str = "cheie-demo-ghiseul";

pub const TAX_TYPES_CSV: &str = "\
id_tip_suma,nume,prioritate,iban,detalii_header
1,Impozit pe clădiri persoane fizice,1,RO50TREZ2165070XXX012345,
2,Impozit pe teren persoane fizice,2,RO23TREZ2165070XXX012346,
3,Impozit pe mijloacele de transport,3,RO93TREZ2165070XXX012347,Vehicul;Debit;Rămășiță;Majorări;Penalități
4,Taxă specială de salubrizare,0,RO66TREZ2165070XXX012348,
5,Amenzi contravenționale,0,RO39TREZ2165070XXX012349,Proces-verbal;Debit;Rămășiță;Majorări;Penalități
6,Impozit pe clădiri persoane juridice,0,RO12TREZ2165070XXX012350,
";

pub const PERSONS_CSV: &str = "\
Nr. crt.,CNP/NIF sau CIF/CUI,Nume,Adresa
1,1750315400014,Popescu Ion,\"Str. Lăpușneanu nr. 12, Iași\"
2,2820704120023,Ionescu Maria-Ștefania,\"Bd. Ștefan cel Mare și Sfânt nr. 4, bl. A2, ap. 7, Iași\"
3,1600101220035,Dumitrescu Gheorghe,\"Str. Țuțora nr. 3, Iași\"
4,6010917400048,Rădulescu Ana-Măriuța,\"Aleea Grădinari nr. 9, Iași\"
5,RO31245671,SC Exemplu Construcții SRL,\"Șos. Păcurari nr. 101, Iași\"
";

pub const DEBTS_CSV: &str = "\
cui,id_tip_suma,descriere,debit,ramasita,majorari,penalitati,scadenta
1750315400014,1,\"Apartament, Str. Lăpușneanu nr. 12\",412.50,120.00,18.36,0,2025-03-31
1750315400014,1,\"Garaj, Str. Lăpușneanu nr. 12\",38.00,0,0,0,2025-03-31
1750315400014,2,\"Teren intravilan, Tătărași\",57.32,0,0,0,2025-03-31
1750315400014,3,\"Dacia Logan IS-12-ABC\",146.00,0,0,0,2025-03-31
1750315400014,4,Salubrizare 2025,96.00,48.00,5.76,0,2025-03-31
2820704120023,1,\"Casă, Bd. Ștefan cel Mare nr. 4\",1234.50,0,0,0,2025-03-31
2820704120023,5,PV seria IS nr. 004512/2024,0,250.00,0,0,2024-11-15
1600101220035,1,\"Casă, Str. Țuțora nr. 3\",880.00,300.00,45.90,12.10,2024-03-31
1600101220035,1,\"Casă, Str. Țuțora nr. 3\",905.00,0,0,0,2025-03-31
1600101220035,2,\"Teren agricol, extravilan Bârnova\",23.45,10.00,1.12,0,2025-03-31
RO31245671,6,\"Hală producție, Șos. Păcurari nr. 101\",15230.00,4200.00,631.40,210.00,2025-03-31
RO31245671,3,\"Autoutilitară IS-99-XYZ\",1180.00,0,0,0,2025-03-31
";

/// A person who owes something on several types, for the printed example command.
pub const SAMPLE_CUIS: [(&str, &str); 4] = [
    (
        "1750315400014",
        "Popescu Ion: clădiri, teren, auto, salubrizare",
    ),
    (
        "1600101220035",
        "Dumitrescu Gheorghe: rămășițe, majorări și penalități",
    ),
    (
        "31245671",
        "SC Exemplu Construcții SRL (CIF, also accepted as RO31245671)",
    ),
    (
        "6010917400048",
        "Rădulescu Ana-Măriuța: in the register, owes nothing",
    ),
];

/// Loads the demo register into `store` (already migrated).
pub async fn load(store: &Store) -> anyhow::Result<()> {
    import(
        store,
        Kind::TaxTypes,
        TAX_TYPES_CSV.as_bytes(),
        &Options::default(),
    )
    .await?;
    import(
        store,
        Kind::Persons,
        PERSONS_CSV.as_bytes(),
        &Options::default(),
    )
    .await?;
    import(
        store,
        Kind::Debts,
        DEBTS_CSV.as_bytes(),
        &Options::default(),
    )
    .await?;
    Ok(())
}
