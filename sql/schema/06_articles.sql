-- One row per story: the best capture of each article_id (see sql/load/30_articles.sql).
-- The page text stays in `captures`, where every capture has it: `best_captures` names the
-- capture each story takes, and `articles` is that capture's row with its capture count.
-- So each body is stored (and loaded) once. Warehouses from before kept `articles` as a
-- table holding a copy of each best capture; sql/migrate/ turns it into these two.
-- Key: article_id, unique (checked by sql/checks/keys_are_unique.sql, not indexed).
create table if not exists best_captures (
    article_id              varchar not null,
    source_path             varchar not null,
    capture_count           integer not null
);

comment on table best_captures is 'One row per story: which capture is its article (a complete related list first, then the longest one, then the first path); articles joins it to captures.';
comment on column best_captures.article_id is 'As articles.article_id: the key, one row per story.';
comment on column best_captures.source_path is 'The capture (captures.source_path) that is the story''s article.';
comment on column best_captures.capture_count is 'As articles.capture_count.';

-- The documented columns, in their documented order (capture_count before the columns
-- parser 2 added, as in the table of earlier warehouses). The join on both keys keeps a
-- row out rather than mix two stories; sql/checks/articles_have_a_capture.sql finds any.
create or replace view articles as
select
    c.article_id, c.source_path, c.content_hash, c.title, c.published_at, c.lead, c.body,
    c.caption, c.attribution, c.sign_off, c.paragraph_count, c.word_count, c.related_status,
    c.related_declared_bytes, c.related_actual_bytes, c.related_count, c.source_encoding,
    c.parser_version, b.capture_count, c.language, c.site, c.dateline
from best_captures as b
inner join captures as c on c.source_path = b.source_path and c.article_id = b.article_id;

comment on view articles is 'One row per story: the best capture of each article_id (a complete related list first, then the longest one, then the first path). A view: the chosen capture''s row of captures (best_captures says which), so each page''s text is stored once.';
comment on column articles.capture_count is 'Number of raw files that carried this story.';
comment on column articles.article_id is 'Stable story id: the first 16 hex digits of SHA-256 over the normalized title and publication time (title and lead when undated).';
comment on column articles.source_path is 'The raw file this row was taken from (the best capture).';
comment on column articles.content_hash is 'SHA-256 of that file''s bytes (hex).';
comment on column articles.title is 'Headline.';
comment on column articles.published_at is 'Publication time as printed on the page (site local time, no time zone); null when the page has no date line.';
comment on column articles.lead is 'First body paragraph.';
comment on column articles.body is 'All body paragraphs joined by a blank line, without title, date line, caption, sign-off or trailer.';
comment on column articles.caption is 'Short photo-caption line under the lead, when the page has one.';
comment on column articles.attribution is 'Outlet named in a closing ''…; Press TV reported.'' sentence, when there is one.';
comment on column articles.sign_off is 'Editor''s sign-off line at the end of the body (e.g. ''S/SH 11''), when there is one.';
comment on column articles.paragraph_count is 'Number of body paragraphs.';
comment on column articles.word_count is 'Number of words in the body.';
comment on column articles.related_status is 'State of the related-stories trailer: ok, empty, absent, truncated or malformed.';
comment on column articles.related_declared_bytes is 'Length the trailer''s string(N) declares; often a few bytes off.';
comment on column articles.related_actual_bytes is 'Real UTF-8 length of the trailer''s text.';
comment on column articles.related_count is 'Number of related items recovered from the trailer.';
comment on column articles.source_encoding is 'Encoding the file was decoded from: utf-8, utf-8-sig, utf-16, cp1252 or cp1256; utf-8-repaired or cp1252-repaired when a few stray bytes were read as the windows character both legacy code pages agree on, or replaced by U+FFFD.';
comment on column articles.parser_version is 'Version of the parser that produced the row.';
comment on column articles.language is 'Language of the page as an ISO 639-1 code: en for every article (Arabic and Persian pages of the sister sites are rejects with reason foreign_language); null only on rows from parser 1.0.0, which the next run re-reads.';
comment on column articles.site is 'Site the page comes from, as a host name: en.alalam.ir; null only on rows from parser 1.0.0.';
comment on column articles.dateline is 'Desk and country line printed in the body (e.g. ''Alalam - Syria''), kept out of body and caption; null when the page has none.';
