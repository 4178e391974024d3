-- `best_captures` over the lake: which capture each story takes, and how many it has. The
-- lake's articles dataset holds each story's chosen capture with its capture_count, so
-- this is a narrow view of it (in the warehouse, `articles` is the view and this the table).
create view best_captures as
select article_id, source_path, capture_count from articles;
