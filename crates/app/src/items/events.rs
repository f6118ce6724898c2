//! The events the data feature raises.

use entity::ItemId;
use serde::{Deserialize, Serialize};

use crate::platform::jobs::event::Event;

/// An item was created (`{dataId}` in the contract's events table).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemCreated {
    pub data_id: ItemId,
}

impl Event for ItemCreated {
    const NAME: &'static str = "data:created";
}
