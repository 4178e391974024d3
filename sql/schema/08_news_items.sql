-- One row per related story (the site's news id), as the related lists describe it.
create table if not exists news_items (
    news_id          bigint primary key,
    title            varchar not null,
    content_type_id  bigint,
    pic_path         varchar,
    media_kind       varchar not null,
    pic_date         date,
    pic_uploaded_at  timestamp,
    link_count       integer not null,
    first_linked_at  timestamp,
    last_linked_at   timestamp
);
