use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "widgets")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub org_id: Uuid,
    pub name: String,
    #[sea_orm(column_type = "Text")]
    pub secret_sealed: String,
    pub api_login: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub api_password_sealed: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub users_info_url: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub allowed_origins: String,
    pub users_info_ok_at: Option<DateTimeUtc>,
    pub users_info_failed_at: Option<DateTimeUtc>,
    pub users_info_error_code: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub users_info_error: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
