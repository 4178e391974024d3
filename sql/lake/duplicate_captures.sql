-- The duplicate_captures dataset (internal, for rebuilds): captures that are not their
-- story's best. The best ones are rows of `articles` already, so the lake stores them once.
select year(published_at) as year, month(published_at) as month, *
from captures
where source_path not in (select source_path from articles)
