use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "refresh_tokens")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub family_id: Uuid,
    #[sea_orm(unique)]
    pub token_hash: String,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    pub used_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::token_family::Entity",
        from = "Column::FamilyId",
        to = "super::token_family::Column::Id",
        on_delete = "Cascade"
    )]
    TokenFamily,
}

impl ActiveModelBehavior for ActiveModel {}

impl Related<super::token_family::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::TokenFamily.def()
    }
}
