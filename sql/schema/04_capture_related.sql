-- Every related-story entry of every capture, in page order.
-- Key: (source_path, position), unique (checked by sql/checks/keys_are_unique.sql, not indexed).
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
    pic_uploaded_at  timestamp
);

comment on table capture_related is 'Every related-story entry of every capture, in page order, with what that page said about the story.';
comment on column capture_related.source_path is 'The capture (raw file) whose trailer lists the story.';
comment on column capture_related.article_id is 'The article that capture carries.';
comment on column capture_related.position is '0-based position in the page''s related list.';
comment on column capture_related.news_id is 'The site''s news id of the related story.';
comment on column capture_related.sort_key is 'The site''s ordering key for the related list.';
comment on column capture_related.content_type_id is 'As news_items.content_type_id, as this page listed it.';
comment on column capture_related.title is 'The related story''s title as listed, HTML entities decoded.';
comment on column capture_related.pic_path is 'As news_items.pic_path, as this page listed it.';
comment on column capture_related.media_kind is 'As news_items.media_kind, as this page listed it.';
comment on column capture_related.pic_date is 'As news_items.pic_date, as this page listed it.';
comment on column capture_related.pic_uploaded_at is 'As news_items.pic_uploaded_at, as this page listed it.';
