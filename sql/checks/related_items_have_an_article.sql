-- No orphan links: every related item belongs to an article.
select r.article_id, r.position
from related_items as r
anti join articles as a using (article_id);
