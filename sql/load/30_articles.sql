-- Each affected story becomes its best capture: a complete related list first, then the
-- longest one, then the first path. The order depends only on content and paths, so
-- incremental runs end where one clean run over the same files would.
-- The choice is an aggregate over narrow columns, so memory does not grow with body text;
-- the articles are then copied from their captures a piece at a time (35_articles.per_piece.sql).
delete from related_items where article_id in (select article_id from affected_articles);
delete from articles where article_id in (select article_id from affected_articles);

-- The copy is cut into pieces of about load_settings.article_piece_bytes of page text (by
-- file size), in source path order, so each piece reads one narrow range of `captures`.
create or replace temp table best_captures as
select
    *,
    sum(size_bytes) over (order by source_path) // (select article_piece_bytes from load_settings) as piece
from (
    select best.*, coalesce(f.size_bytes, s.size_bytes, 0) as size_bytes
    from (
        select
            article_id,
            arg_min(
                source_path,
                struct_pack(
                    status_rank := case related_status
                        when 'ok' then 0 when 'empty' then 1 when 'truncated' then 2 when 'malformed' then 3 else 4
                    end,
                    fewer_items := -related_count,
                    source_path := source_path
                )
            ) as source_path,
            count(*) as capture_count
        from captures
        where article_id in (select article_id from affected_articles)
        group by article_id
    ) as best
    left join stage_files as f using (source_path)
    left join source_files as s using (source_path)
);
