-- One row per related story (the site's news id), as the related lists describe it.
-- Key: news_id, unique (one row per group of sql/load/50_news_items.sql; not indexed).
create table if not exists news_items (
    news_id          bigint not null,
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

comment on table news_items is 'One row per related story (the site''s news id), as the most recent article linking to it describes it.';
comment on column news_items.news_id is 'The site''s news id.';
comment on column news_items.title is 'Title as the most recent linking article lists it, HTML entities decoded.';
comment on column news_items.content_type_id is 'The site''s content type id.';
comment on column news_items.pic_path is 'Path of the story''s picture or video on the site.';
comment on column news_items.media_kind is 'image, video or other, from the pic path''s extension.';
comment on column news_items.pic_date is 'Upload date from the pic path''s folder.';
comment on column news_items.pic_uploaded_at is 'Exact upload time decoded from the .NET ticks in the pic file name; null when it cannot be decoded with confidence.';
comment on column news_items.link_count is 'Number of articles whose related list links to the story.';
comment on column news_items.first_linked_at is 'Publication time of the earliest article linking to it.';
comment on column news_items.last_linked_at is 'Publication time of the latest article linking to it.';
