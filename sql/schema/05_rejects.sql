-- Files that could not become an article, with a reason a person can act on.
-- Key: source_path, unique (checked by sql/checks/keys_are_unique.sql, not indexed).
create table if not exists rejects (
    source_path     varchar not null,
    content_hash    varchar,
    size_bytes      bigint not null,
    reason          varchar not null,
    detail          varchar not null,
    parser_version  varchar not null
);

comment on table rejects is 'Files that could not become an article, with a reason a person can act on.';
comment on column rejects.source_path is 'Absolute path of the raw file.';
comment on column rejects.content_hash is 'SHA-256 of the file''s bytes (hex); null when the file was not read (unreadable, too_large).';
comment on column rejects.size_bytes is 'File size in bytes.';
comment on column rejects.reason is 'Short code: empty, binary, undecodable, unreadable, too_large, not_article, foreign_language, no_title, no_body (the parser''s); shrunk, other_story (a changed file that kept its archived capture: see source_files.article_id).';
comment on column rejects.detail is 'One sentence on what was wrong with this file.';
comment on column rejects.parser_version is 'Version of the parser that rejected the file.';
