-- The duplicate_captures dataset (internal, for rebuilds): captures that are not their
-- story's best. The best ones are rows of `articles` already, so the lake stores them once.
-- Only stories captured more than once can have one, which keeps the join small.
select year(c.published_at) as year, month(c.published_at) as month, c.*
from captures as c
inner join articles as a on a.article_id = c.article_id and a.capture_count > 1
where c.source_path <> a.source_path
