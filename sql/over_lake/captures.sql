-- `captures` over the lake: each article is its own best capture (the lake stores those
-- rows once, in articles), and duplicate_captures holds the other captures of its stories
-- (see sql/lake/duplicate_captures.sql). Together they are the warehouse table.
create view captures as
select * exclude (capture_count) from articles
union all by name
select * from duplicate_captures;
