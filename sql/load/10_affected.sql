-- A file gone between discovery and reading (deleted, renamed, replaced by a folder:
-- staged as 'vanished', with no capture and no reject) was not there for this run. Forget
-- it was discovered, so every step below sees it missing exactly as if it had gone before
-- the run: its archived data stays, flagged is_present = false, and the counts add up.
-- (Staged tables may be views over Parquet, which cannot be deleted from: stage_files'
-- readers below take only the outcomes they mean.)
create or replace temp table vanished_paths as
select source_path from stage_files where outcome = 'vanished';

delete from discovered where source_path in (select source_path from vanished_paths);
delete from plan where source_path in (select source_path from vanished_paths);

-- The stories and related news ids this run's files may change: the only rows rewritten.
create or replace temp table parsed_paths as
select source_path from stage_files where outcome in ('article', 'rejected');

-- How complete a page's related list is, best first: the first thing that ranks two
-- captures of a story (30_articles.sql) and an archived capture against a file's new one.
create or replace temp macro related_rank(status) as
    case status when 'ok' then 0 when 'empty' then 1 when 'truncated' then 2 when 'malformed' then 3 else 4 end;

-- An archived capture is never lost to what a file's bytes became: a file whose new
-- content is a reject (emptied, cut to binary, unreadable) or holds less than the capture
-- archived from it (another story, a worse related list, fewer items or fewer words: cut
-- short or damaged in place) keeps that capture. Its new content becomes a reject that
-- says so (`reason` here; null when it is a reject already), and the manifest names the
-- kept story. A path holds one capture, so a new version that should be archived beside
-- the old one goes to a new file name (the old path then counts as missing, its capture
-- kept). Only the bytes count: the same bytes read by a new parser replace their
-- capture, whatever it holds.
create or replace temp table kept_captures as
select
    c.source_path,
    c.article_id,
    f.content_hash,
    f.size_bytes,
    case
        when f.outcome = 'rejected' then null
        when n.article_id <> c.article_id then 'other_story'
        else 'shrunk'
    end as reason,
    case
        when f.outcome = 'rejected' then
            'The capture of story ' || c.article_id || ' archived from this file''s earlier content is kept.'
        when n.article_id <> c.article_id then
            'It now holds story ' || n.article_id || ', not story ' || c.article_id || ' archived from it: overwritten? '
            || 'The archived capture is kept; to archive the new story too, move this file to a new name.'
        else
            'It now holds less of story ' || c.article_id || ' than the capture archived from it (related list '
            || n.related_status || ', ' || n.related_count || ' items, ' || n.word_count || ' words, against '
            || c.related_status || ', ' || c.related_count || ', ' || c.word_count || '): cut short or damaged? '
            || 'The archived capture is kept; restore the file, or move it to a new name to archive this version too.'
    end as detail
from (
    select source_path, article_id, content_hash, related_status, related_count, word_count
    from captures
    -- only a known file read again can have a capture archived from it: none in a run of
    -- new files, which then does not scan the captures' paths
    where source_path in (select source_path from plan where status = 'changed')
) as c
inner join stage_files as f on f.source_path = c.source_path and f.outcome in ('article', 'rejected')
left join stage_captures as n on n.source_path = c.source_path
where f.content_hash is distinct from c.content_hash
    and (
        f.outcome = 'rejected'
        or n.article_id <> c.article_id
        or related_rank(n.related_status) > related_rank(c.related_status)
        or n.related_count < c.related_count
        or n.word_count < c.word_count
    );

create or replace temp table affected_articles as
select article_id from captures where source_path in (select source_path from parsed_paths)
union
select article_id from stage_captures;

create or replace temp table affected_news as
select distinct news_id from related_items
where article_id in (select article_id from affected_articles);
