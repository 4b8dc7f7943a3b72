//! Looking rows up by many two-column keys at once.
use sea_orm::{
    Condition, EntityTrait, ExprTrait, JoinType, QuerySelect, Select,
    sea_query::{Alias, Expr, IntoIden, TableRef, Value, ValueTuple},
};

/// Restrict `select` to the rows whose `(a, b)` is one of `keys`. A key given twice matches
/// its rows twice (it is a join): pass each key once.
///
/// The keys are joined as a `VALUES` list rather than ORed, so that Postgres looks each one
/// up in the `(a, b)` index whatever its statistics say. With `(a = $1 AND b = $2) OR ...`
/// and statistics older than the table (a burst of new rows before autovacuum's next
/// analyze), it took only `a` from the index and filtered every row with that `a` by `b`:
/// a batch of joins then compared the names of all the rooms of the domain.
pub fn matching<E, A, B>(
    mut select: Select<E>,
    a: E::Column,
    b: E::Column,
    keys: impl IntoIterator<Item = (A, B)>,
) -> Select<E>
where
    E: EntityTrait,
    A: Into<Value>,
    B: Into<Value>,
{
    let k = Alias::new("k");
    let values = keys
        .into_iter()
        .map(|(x, y)| ValueTuple::Two(x.into(), y.into()))
        .collect();
    QuerySelect::query(&mut select).join(
        JoinType::InnerJoin,
        TableRef::ValuesList(values, k.clone().into_iden()),
        Condition::all()
            // A VALUES list's columns are column1, column2 on Postgres and SQLite alike.
            .add(Expr::col((E::default(), a)).equals((k.clone(), Alias::new("column1"))))
            .add(Expr::col((E::default(), b)).equals((k, Alias::new("column2")))),
    );
    select
}
