-- No orphan links: every related item belongs to an article.
select r.article_id, r.position
from checked_related_items as r
anti join best_captures as b using (article_id);
