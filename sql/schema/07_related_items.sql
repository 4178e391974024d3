-- The link from an article to the stories its page listed as related, in page order.
-- Key: (article_id, position), unique (checked by sql/checks/related_items_match_best_capture.sql; not indexed).
create table if not exists related_items (
    article_id  varchar not null,
    position    integer not null,
    news_id     bigint not null,
    sort_key    bigint
);

comment on table related_items is 'The link from an article to the stories its page listed as related: one row per article and position.';
comment on column related_items.article_id is 'The article whose page lists the related story.';
comment on column related_items.position is '0-based position in the page''s related list.';
comment on column related_items.news_id is 'The site''s news id of the related story; describe it with news_items.';
comment on column related_items.sort_key is 'The site''s ordering key for the related list.';
