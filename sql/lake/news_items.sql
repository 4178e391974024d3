-- The news_items dataset: every column, partitioned by the year and month a story was first linked.
select year(first_linked_at) as year, month(first_linked_at) as month, * from news_items
