-- The link from an article to the stories its page listed as related, in page order.
create table if not exists related_items (
    article_id  varchar not null,
    position    integer not null,
    news_id     bigint not null,
    sort_key    bigint,
    primary key (article_id, position)
);
