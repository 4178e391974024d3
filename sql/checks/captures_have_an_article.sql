-- Every capture's story is in articles: no story is lost to deduplication.
select c.source_path, c.article_id
from checked_captures as c
anti join best_captures as b using (article_id);
