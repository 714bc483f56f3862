#include "store/change_record.h"

namespace hirestream::store {

std::string_view event_name_text(EventName name) {
    switch (name) {
        case EventName::insert: return "INSERT";
        case EventName::modify: return "MODIFY";
        case EventName::remove: return "REMOVE";
    }
    return "INSERT";
}

Result<EventName> parse_event_name(std::string_view text) {
    for (EventName name : {EventName::insert, EventName::modify, EventName::remove}) {
        if (text == event_name_text(name)) return name;
    }
    return fail(Errc::invalid_argument, "unknown event name \"" + std::string(text) +
                                            "\" (expected INSERT, MODIFY or REMOVE)");
}

std::string_view view_type_text(StreamViewType type) {
    switch (type) {
        case StreamViewType::keys_only: return "KEYS_ONLY";
        case StreamViewType::new_image: return "NEW_IMAGE";
        case StreamViewType::old_image: return "OLD_IMAGE";
        case StreamViewType::new_and_old_images: return "NEW_AND_OLD_IMAGES";
    }
    return "NEW_AND_OLD_IMAGES";
}

Result<StreamViewType> parse_view_type(std::string_view text) {
    for (StreamViewType type : {StreamViewType::keys_only, StreamViewType::new_image,
                                StreamViewType::old_image, StreamViewType::new_and_old_images}) {
        if (text == view_type_text(type)) return type;
    }
    return fail(Errc::invalid_argument,
                "unknown stream view type \"" + std::string(text) +
                    "\" (expected KEYS_ONLY, NEW_IMAGE, OLD_IMAGE or NEW_AND_OLD_IMAGES)");
}

}  // namespace hirestream::store
