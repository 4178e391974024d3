-- An article's related list is exactly its best capture's list: as many items as the
-- page listed, each position once.
select b.article_id, count(r.position) as linked, count(distinct r.position) as positions, any_value(c.related_count) as listed
from checked_best_captures as b
inner join captures as c using (source_path)
left join related_items as r on r.article_id = b.article_id
group by b.article_id
having count(r.position) <> any_value(c.related_count) or count(distinct r.position) <> count(r.position);
