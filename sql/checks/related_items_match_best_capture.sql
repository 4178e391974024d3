-- An article's related list is exactly its best capture's list.
select a.article_id, count(distinct r.position) as linked, any_value(a.related_count) as listed
from articles as a
left join related_items as r using (article_id)
group by a.article_id
having count(distinct r.position) <> any_value(a.related_count);
