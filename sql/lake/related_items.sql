-- The related_items dataset, partitioned like the articles they belong to.
select year(a.published_at) as year, month(a.published_at) as month, r.*
from related_items as r
inner join articles as a using (article_id)
