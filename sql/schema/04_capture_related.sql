-- Every related-story entry of every capture, in page order.
create table if not exists capture_related (
    source_path      varchar not null,
    article_id       varchar not null,
    position         integer not null,
    news_id          bigint not null,
    sort_key         bigint,
    content_type_id  bigint,
    title            varchar not null,
    pic_path         varchar,
    media_kind       varchar not null,
    pic_date         date,
    pic_uploaded_at  timestamp,
    primary key (source_path, position)
);
