-- Files that could not become an article, with a reason a person can act on.
create table if not exists rejects (
    source_path     varchar primary key,
    content_hash    varchar,
    size_bytes      bigint not null,
    reason          varchar not null,
    detail          varchar not null,
    parser_version  varchar not null
);
